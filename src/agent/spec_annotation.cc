#include "agent/spec_annotation.h"

#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include "agent/runtime.h"
#include "api/json.h"
#include "api/validate.h"

namespace zp::agent {
namespace {

std::string sha256Hex(std::string_view bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_LENGTH);
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

bool isDigest(std::string_view s) {
  if (s.size() != 2 * SHA256_DIGEST_LENGTH) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string canonicalJson(const api::WorkloadSpec& spec) { return api::toJson(spec).dump(); }

}  // namespace

std::string specDigest(const api::WorkloadSpec& spec) { return sha256Hex(canonicalJson(spec)); }

std::vector<std::pair<std::string, std::string>> specAnnotations(const api::WorkloadSpec& spec) {
  std::string json = canonicalJson(spec);
  std::string digest = sha256Hex(json);
  if (json.size() > kMaxSpecAnnotationBytes) {
    api::WorkloadSpec trimmed = spec;
    trimmed.command.clear();
    trimmed.args.clear();
    trimmed.env.clear();
    json = canonicalJson(trimmed);
  }
  return {{std::string(kAnnotationSpec), std::move(json)},
          {std::string(kAnnotationSpecDigest), std::move(digest)}};
}

std::optional<AnnotatedSpec> specFromAnnotations(std::string_view spec_json,
                                                 std::optional<std::string_view> digest) {
  const auto json = nlohmann::json::parse(spec_json, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return std::nullopt;
  auto spec = api::workloadSpecFromJson(json);
  if (!spec || !api::validateWorkloadSpec(*spec)) return std::nullopt;
  AnnotatedSpec out;
  out.spec = std::move(*spec);
  const std::string whole = specDigest(out.spec);
  if (!digest) {
    out.digest = whole;
    return out;
  }
  if (!isDigest(*digest)) return std::nullopt;
  out.digest = *digest;
  if (out.digest == whole) return out;
  // Only a spec without command, args and env may differ from its digest.
  if (!out.spec.command.empty() || !out.spec.args.empty() || !out.spec.env.empty()) {
    return std::nullopt;
  }
  out.complete = false;
  return out;
}

}  // namespace zp::agent
