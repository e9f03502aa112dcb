#pragma once
// A timeout for socket operations that cancels them instead of closing the socket (as Beast's
// tcp_stream does), so the relay can still write a 408 after a slow client's read timed out.
// A connection arms one about three times per request (the keep-alive wait, the head, a write
// that does not go at once), so it rests on a LazyTimer: arming and disarming move a time.
#include <boost/asio/ip/tcp.hpp>
#include <chrono>

#include "http/lazy_timer.hpp"

namespace relay::http {

class Deadline {
 public:
  explicit Deadline(boost::asio::ip::tcp::socket& sock)
      : sock_(sock), timer_(sock.get_executor(), [this] {
          fired_ = true;
          boost::system::error_code ignored;
          sock_.cancel(ignored);
        }) {}
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // From now on, operations on the socket are cancelled once `d` has passed (until disarm).
  void arm(std::chrono::milliseconds d) {
    fired_ = false;
    timer_.arm(LazyTimer::Clock::now() + d);
  }
  void disarm() { timer_.disarm(); }
  // The last armed deadline passed (and cancelled the socket's operations).
  bool fired() const { return fired_; }

 private:
  boost::asio::ip::tcp::socket& sock_;
  bool fired_ = false;
  LazyTimer timer_;  // last: it goes first, so its callback never sees the others gone
};

}  // namespace relay::http
