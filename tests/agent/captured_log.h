#pragma once
// CapturedLog: makes the default spdlog logger one that keeps its lines (from
// any thread) for the guard's lifetime; the previous logger is restored
// afterwards. Thread-safe.

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace zp::agent::testing {

class CapturedLog {
 public:
  explicit CapturedLog(spdlog::level::level_enum level = spdlog::level::info)
      : sink_(std::make_shared<Sink>()),
        previous_(spdlog::default_logger()),
        logger_(std::make_shared<spdlog::logger>("captured", sink_)) {
    logger_->set_level(level);
    spdlog::set_default_logger(logger_);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  // How many lines logged so far contain `text`.
  std::size_t count(const std::string& text) const { return sink_->count(text); }
  // Every line logged so far (the message only).
  std::vector<std::string> lines() const { return sink_->lines(); }

 private:
  class Sink final : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::size_t count(const std::string& text) {
      std::lock_guard lock(mutex_);
      return static_cast<std::size_t>(std::count_if(
          lines_.begin(), lines_.end(),
          [&](const std::string& line) { return line.find(text) != std::string::npos; }));
    }
    std::vector<std::string> lines() {
      std::lock_guard lock(mutex_);
      return lines_;
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& message) override {
      lines_.emplace_back(message.payload.data(), message.payload.size());
    }
    void flush_() override {}

   private:
    std::vector<std::string> lines_;
  };

  std::shared_ptr<Sink> sink_;
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace zp::agent::testing
