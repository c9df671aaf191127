#pragma once
// ProbeRunnerTest: a ProbeRunner on FakeRuntime, its CRI logs in a private
// temp dir; probeWrites() makes the probe's container write a log and exit as
// soon as it starts. Deadlines follow a clock that moves a second per
// reading, so a timeout costs no real time.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "agent/isolation/probe_runner.h"
#include "fake_runtime.h"
#include "probe/report_json.h"

namespace zp::agent::testing {

using namespace std::chrono_literals;

inline constexpr const char* kProbeImage = "registry.test/zoneplane/probe:1";

// Monotonic time that moves one second every time it is read.
class SteppingClock final : public MonotonicClock {
 public:
  MonotonicTime now() const override {
    std::lock_guard lock(mutex_);
    now_ += 1s;
    return now_;
  }

 private:
  mutable std::mutex mutex_;
  mutable MonotonicTime now_{};
};

inline probe::Report sampleReport() {
  probe::Report r;
  r.probe_version = "9.8.7";
  r.kernel.boot_id = "0f0e0d0c-0000-4000-8000-000000000001";
  r.kernel.release = "6.1.0";
  return r;
}

// A CRI log: each (stream, text, partial) as one raw line.
struct Piece {
  std::string stream;
  std::string text;
  bool partial = false;
};
inline void writeCriLog(const std::string& path, const std::vector<Piece>& pieces) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path);
  for (const auto& p : pieces) {
    out << "2026-01-02T03:04:05.123456789Z " << p.stream << (p.partial ? " P " : " F ") << p.text
        << "\n";
  }
}

class ProbeRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("zp-probe-runner-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    runtime_.setLogRoot(dir_.string());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ProbeRunner::Options options() const {
    ProbeRunner::Options o;
    o.image = kProbeImage;
    o.targets = {"10.0.0.1:7443"};
    o.timeout = 120s;
    o.poll = 0ms;
    return o;
  }
  // The probe's container writes `pieces` and exits with `code` as soon as it starts.
  void probeWrites(std::vector<Piece> pieces, int code = 0) {
    runtime_.setStartHook([this, pieces, code](const std::string& id, const WorkloadIdentity& who) {
      started_ = who;
      writeCriLog(runtime_.logPath(who, 0), pieces);
      runtime_.exitContainer(id, code);
    });
  }

  std::filesystem::path dir_;
  FakeRuntime runtime_;
  SteppingClock clock_;
  WorkloadIdentity started_;  // the identity of the last probe started
};

// Whether every byte of `text` is printable ASCII (no control characters).
inline bool printableAscii(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
}

}  // namespace zp::agent::testing
