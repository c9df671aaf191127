// Fuzz target: image references (api/image_ref.h) as a submission or the
// agent's [probe] image carries them, and the server's image policy that
// judges their registry (server/image_policy.h). A parsed reference put back
// together must parse to the same parts; validation agrees with parsing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/image_ref.h"
#include "api/validate.h"
#include "fuzz_check.h"
#include "server/image_policy.h"

using zp::fuzz::check;

namespace {

std::string compose(const zp::api::ImageReference& ref) {
  std::string out;
  if (!ref.registry.empty()) out += ref.registry + "/";
  out += ref.repository;
  if (!ref.tag.empty()) out += ":" + ref.tag;
  if (!ref.digest.empty()) out += "@" + ref.digest;
  return out;
}

const zp::server::ImagePolicy& listedPolicy() {
  static const zp::server::ImagePolicy policy =
      *zp::server::ImagePolicy::create({"registry.example.com", "*.example.org:*", "127.0.0.1:5000",
                                        "[fd00::1]:5000", "docker.io"});
  return policy;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // The same text as an allowed_registries pattern (server configuration).
  if (auto pattern = zp::server::parseRegistryPattern(text)) {
    (void)pattern->matches("registry.example.com", 5000);
    (void)pattern->matches("127.0.0.1", std::nullopt);
  }
  (void)zp::server::localRegistryKind(text);

  auto ref = zp::api::parseImageReference(text);
  const bool valid = zp::api::validateImageReference(text).has_value();
  check(valid == ref.has_value(), "validation agrees with parsing", text);
  (void)zp::api::registryOf(text);
  if (!ref) {
    check(ref.error().field == "image", "a refused image names the field", text);
    return 0;
  }
  const std::string composed = compose(*ref);
  auto again = zp::api::parseImageReference(composed);
  check(again.has_value(), "a parsed reference recomposed parses", composed);
  check(again->registry == ref->registry && again->repository == ref->repository &&
            again->tag == ref->tag && again->digest == ref->digest,
        "a parsed reference recomposed parses to the same parts", composed);
  const std::string registry = ref->effectiveRegistry();
  check(!registry.empty(), "an image has a registry", text);
  const std::string host = ref->host();
  check(!host.empty(), "an image's registry has a host", text);
  (void)zp::server::localRegistryKind(host);
  static const zp::server::ImagePolicy default_policy;
  (void)default_policy.check(*ref);
  (void)listedPolicy().check(*ref);
  return 0;
}
