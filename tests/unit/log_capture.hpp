#pragma once
// Tests that check what a component logs (and that it never logs a secret).
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace relay::test {

// Routes spdlog's default logger into memory ("level message" per line) for the scope.
class LogCapture {
 public:
  LogCapture() : old_(spdlog::default_logger()) {
    sink_->set_pattern("%l %v");
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(old_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::vector<std::string> lines(std::string_view level) const {
    std::vector<std::string> out;
    for (auto& l : sink_->last_formatted())
      if (l.starts_with(std::string(level) + " ")) out.push_back(l);
    return out;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
  std::shared_ptr<spdlog::logger> old_;
};

}  // namespace relay::test
