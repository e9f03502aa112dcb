#pragma once
// A timeout for socket operations that cancels them instead of closing the socket (as Beast's
// tcp_stream does), so the relay can still write a 408 after a slow client's read timed out.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>

namespace relay::http {

class Deadline {
 public:
  explicit Deadline(boost::asio::ip::tcp::socket& sock)
      : state_(std::make_shared<State>()), timer_(sock.get_executor()) {
    state_->sock = &sock;
  }
  ~Deadline() {
    state_->sock = nullptr;
    ++state_->gen;
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void arm(std::chrono::milliseconds d) {
    state_->fired = false;
    std::uint64_t gen = ++state_->gen;
    timer_.expires_after(d);
    // A firing that was already queued when the deadline moved on carries an old generation.
    timer_.async_wait([st = state_, gen](boost::system::error_code ec) {
      if (ec || st->gen != gen || !st->sock) return;
      st->fired = true;
      boost::system::error_code ignored;
      st->sock->cancel(ignored);
    });
  }
  void disarm() {
    ++state_->gen;
    timer_.cancel();
  }
  bool fired() const { return state_->fired; }

 private:
  struct State {
    boost::asio::ip::tcp::socket* sock = nullptr;
    std::uint64_t gen = 0;
    bool fired = false;
  };
  std::shared_ptr<State> state_;
  boost::asio::steady_timer timer_;
};

}  // namespace relay::http
