#pragma once
// A timeout for socket operations that cancels them instead of closing the socket (as Beast's
// tcp_stream does), so the relay can still write a 408 after a slow client's read timed out.
//
// Arming and disarming only move a time: a connection arms three deadlines per request (the
// keep-alive wait, the head, a write that does not go at once), and a timer scheduled and
// cancelled each time was a timer-queue insertion, a removal and a completion per request. The
// one timer of a connection waits until the earliest time it may be needed; when it fires and the
// deadline has moved on, it waits again for the rest (nginx keeps its timers the same way). Only
// a deadline earlier than the timer's moves the timer.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

namespace relay::http {

class Deadline {
 public:
  explicit Deadline(boost::asio::ip::tcp::socket& sock);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // From now on, operations on the socket are cancelled once `d` has passed (until disarm).
  void arm(std::chrono::milliseconds d);
  void disarm();
  // The last armed deadline passed (and cancelled the socket's operations).
  bool fired() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

struct Deadline::State : std::enable_shared_from_this<Deadline::State> {
  using Clock = std::chrono::steady_clock;
  explicit State(boost::asio::ip::tcp::socket& s) : sock(&s), timer(s.get_executor()) {}
  void wait_until(Clock::time_point at);

  boost::asio::ip::tcp::socket* sock;
  boost::asio::steady_timer timer;
  Clock::time_point expiry;
  Clock::time_point waiting_until;  // of the timer's wait, when `waiting`
  std::uint64_t wait_gen = 0;       // a wait superseded by a later one ignores its completion
  bool waiting = false;
  bool armed = false;
  bool fired = false;
};

inline void Deadline::disarm() {
  state_->armed = false;
}

inline bool Deadline::fired() const {
  return state_->fired;
}

}  // namespace relay::http
