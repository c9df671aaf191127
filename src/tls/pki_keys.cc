// PrivateKey (pki.h): generation, PKCS#8 PEM in and out.

#include <openssl/pem.h>

#include "tls/pki.h"
#include "tls/pki_internal.h"

namespace zp::tls {
namespace {

// Refuses encrypted keys instead of letting OpenSSL prompt on the terminal.
int noPassphrase(char*, int, int, void*) { return -1; }

}  // namespace

void PrivateKey::Free::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

Result<PrivateKey> PrivateKey::generate(KeyType type) {
  detail::ErrorQueueScope scope;
  EVP_PKEY* key = type == KeyType::kEd25519
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) {
    return fail(detail::opensslError(
        Code::kInternal, "cannot generate a " + std::string(keyTypeName(type)) + " key"));
  }
  return PrivateKey(key);
}

Result<PrivateKey> PrivateKey::fromPem(std::string_view pem) {
  detail::ErrorQueueScope scope;
  auto bio = detail::readBio(pem, "the private key");
  if (!bio) return fail(bio.error());
  detail::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio->get(), nullptr, noPassphrase, nullptr));
  if (!key) {
    return fail(detail::opensslError(Code::kInvalidArgument,
                                     "not an unencrypted PEM private key"));
  }
  if (auto type = detail::supportedKeyType(key.get()); !type) return fail(type.error());
  return PrivateKey(key.release());
}

std::string PrivateKey::pem() const {
  detail::ErrorQueueScope scope;
  auto bio = detail::writeBio();
  if (!bio) return {};
  if (PEM_write_bio_PrivateKey(bio->get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return {};
  }
  return detail::bioText(bio->get());
}

KeyType PrivateKey::type() const {
  // Every PrivateKey was checked by generate() or fromPem().
  return detail::supportedKeyType(key_.get()).value_or(KeyType::kEcP256);
}

}  // namespace zp::tls
