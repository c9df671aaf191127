#include "server/workloads/workload_ids.h"

#include <random>
#include <string_view>

namespace zp::server {
namespace {

std::mt19937_64& engine() {
  thread_local std::mt19937_64 engine{[] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }()};
  return engine;
}

std::string randomString(std::string_view alphabet, int length) {
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out;
  out.reserve(static_cast<std::size_t>(length));
  for (int i = 0; i < length; ++i) out.push_back(alphabet[pick(engine())]);
  return out;
}

}  // namespace

std::string generateWorkloadId() {
  return "wl-" + randomString("abcdefghijklmnopqrstuvwxyz0123456789", 10);
}

std::string generateUid() { return randomString("0123456789abcdef", 32); }

}  // namespace zp::server
