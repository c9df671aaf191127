// Cost of decoding a StartWorkload line (strict decode + validation) against
// the baseline of parsing the same bytes with nlohmann::json alone.

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "protocol/messages.h"

namespace {

const std::string kLine =
    R"({"type":"StartWorkload","req":"r-1","workload":{"id":"wl-123","image":)"
    R"("ghcr.io/example/secure-app:1.0","runtime_class":"edera-zone","memory_mb":512,)"
    R"("cpu_millicores":500,"command":["sh","-c","echo hello; sleep 5"],"env":{"A":"1","B":"2"}}})";

void BM_JsonParseBaseline(benchmark::State& state) {
  for (auto _ : state) {
    auto j = nlohmann::json::parse(kLine, nullptr, false);
    benchmark::DoNotOptimize(j);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kLine.size()));
}
BENCHMARK(BM_JsonParseBaseline);

void BM_DecodeStartWorkload(benchmark::State& state) {
  for (auto _ : state) {
    auto r = zp::protocol::decodeRequest(kLine);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kLine.size()));
}
BENCHMARK(BM_DecodeStartWorkload);

void BM_EncodeStatusReply(benchmark::State& state) {
  zp::api::WorkloadStatus s;
  s.id = "wl-123";
  s.state = zp::api::WorkloadState::kRunning;
  s.node = "node-1";
  s.sandbox_id = std::string(64, 'a');
  s.container_id = std::string(64, 'b');
  s.created_at = std::chrono::system_clock::now();
  const zp::protocol::Reply reply{"r-1", s};
  for (auto _ : state) {
    auto line = zp::protocol::encodeReply(reply);
    benchmark::DoNotOptimize(line);
  }
}
BENCHMARK(BM_EncodeStatusReply);

}  // namespace
