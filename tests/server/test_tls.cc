#include "test_tls.h"

#include <gtest/gtest.h>

#include "tls/tls_context.h"

namespace zp::server::testing {

namespace {
std::shared_ptr<boost::asio::ssl::context> orNull(
    Result<std::shared_ptr<boost::asio::ssl::context>> context) {
  if (!context) {
    ADD_FAILURE() << "test TLS context: " << context.error().toString();
    return nullptr;
  }
  return std::move(*context);
}

testsupport::TestPki makePki(const std::filesystem::path& dir) {
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  return testsupport::makeTestPki(dir);
}
}  // namespace

TestTls::TestTls(const std::filesystem::path& dir)
    : pki(makePki(dir)),
      api(orNull(tls::serverContext(pki.server, false, tls::MinVersion::kTls12))),
      agents(orNull(tls::clientContext(pki.server, tls::MinVersion::kTls13))),
      client(orNull(
          tls::clientContext(tls::TlsFiles{"", "", pki.ca_cert_path}, tls::MinVersion::kTls12))) {}

std::shared_ptr<boost::asio::ssl::context> TestTls::agent(const std::string& id) const {
  return orNull(tls::serverContext(pki.node(id), true, tls::MinVersion::kTls13));
}

}  // namespace zp::server::testing
