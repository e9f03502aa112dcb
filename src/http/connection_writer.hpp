#pragma once
// ResponseWriter over the accepted connection (plain or TLS). Framing is written by hand (a
// status line, headers, chunks) so the hot path needs no Beast serializer instantiations.
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "http/deadline.hpp"
#include "http/response_writer.hpp"
#include "http/session.hpp"
#include "http/stream.hpp"

namespace relay::http {

class ConnectionWriter final : public ResponseWriter {
 public:
  ConnectionWriter(Stream& stream, const SessionLimits& limits, bool keep_alive, bool http10)
      : stream_(stream), limits_(limits), keep_alive_(keep_alive), http10_(http10) {}
  ~ConnectionWriter() override { end_watch(); }

  boost::asio::awaitable<bool> send_head(const ResponseHead& head) override;
  void hold_head(const ResponseHead& head) override;
  boost::asio::awaitable<bool> flush() override;
  bool head_held() const override { return !held_head_.empty(); }
  boost::asio::awaitable<bool> send_body(std::string_view data) override;
  boost::asio::awaitable<bool> finish() override;
  void abort() override;
  bool head_sent() const override { return head_sent_; }
  void watch_disconnect(std::function<void()> on_gone) override;
  void stop_watching() override;

  // The connection can carry another request.
  bool reusable() const { return keep_alive_ && ok_ && finished_; }
  void force_close() { keep_alive_ = false; }

 private:
  struct Watch;
  void arm(const std::shared_ptr<Watch>& w);
  // Cancels the socket watch: the response is over (stop_watching only lets go of on_gone,
  // so that the phases of one response share one wait on the socket, one epoll_ctl).
  void end_watch();
  static void watch_socket(boost::asio::ip::tcp::socket& sock, const std::shared_ptr<Watch>& w);
  static void watch_later(boost::asio::ip::tcp::socket& sock, const std::shared_ptr<Watch>& w);
  static void hung_up(Watch& w);
  void note_write(std::size_t bytes, std::chrono::steady_clock::duration took);
  bool too_slow() const;
  std::string head_bytes(const ResponseHead& head);
  // Writes a, b and c, after the held head if there is one.
  boost::asio::awaitable<bool> write(boost::asio::const_buffer a, boost::asio::const_buffer b = {},
                                     boost::asio::const_buffer c = {});

  Stream& stream_;
  std::optional<Deadline> deadline_;  // made by the first write that has to wait
  const SessionLimits& limits_;
  // For min_send_rate: time spent in writes since one first had to wait, and their bytes.
  std::chrono::steady_clock::duration waited_{};
  std::size_t written_ = 0;
  bool keep_alive_;
  bool http10_;
  bool head_sent_ = false;
  bool chunked_ = false;
  bool ok_ = true;
  bool finished_ = false;
  std::shared_ptr<Watch> watch_;
  std::string held_head_;
};

}  // namespace relay::http
