#include "http/connection_writer.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

namespace relay::http {

namespace asio = boost::asio;

struct ConnectionWriter::Watch {
  std::function<void()> on_gone;  // empty between phases (stop_watching)
  bool active = true;
  bool waiting = false;  // a wait (or a TLS recheck) is pending
  bool gone = false;     // the client hung up while nobody listened
  bool tls = false;
  std::unique_ptr<asio::steady_timer> recheck;  // TLS: pending bytes may be a close_notify
};

namespace {

// The peer sent FIN (or the socket failed), even if unread bytes are still queued before it.
bool peer_hung_up(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// A plain connection's write is first tried at once, without blocking: the socket's buffer
// usually takes all of it, and then no deadline timer is armed and cancelled, and no completion
// goes through the scheduler (two timer-queue changes, a handler and a coroutine resumption per
// write, which W4's 9,000 streams pay on every event). What does not fit is awaited as before.
struct SendNow {
  std::size_t bytes = 0;
  bool failed = false;  // the connection is broken (EPIPE, ECONNRESET, a closed socket)
};

SendNow send_now(int fd, const std::array<asio::const_buffer, 4>& bufs) {
  std::array<iovec, 4> iov{};
  std::size_t count = 0;
  for (const auto& b : bufs) {
    if (b.size() == 0) continue;
    iov[count].iov_base = const_cast<void*>(b.data());  // NOLINT: sendmsg takes non-const
    iov[count].iov_len = b.size();
    ++count;
  }
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = count;
  const ssize_t n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n >= 0) return {static_cast<std::size_t>(n), false};
  return {0, errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR};
}

// The chunk's size in hex and its CRLF, into `out` (at least 18 bytes); snprintf's format
// parsing was 6 % of a slow stream's instructions per event.
std::size_t chunk_size_line(std::size_t size, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char digits[16];
  std::size_t n = 0;
  do {
    digits[n++] = kHex[size & 0xf];
    size >>= 4;
  } while (size != 0);
  for (std::size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\r';
  out[n + 1] = '\n';
  return n + 2;
}

// Drops the first `n` bytes of `bufs`.
void skip(std::array<asio::const_buffer, 4>& bufs, std::size_t n) {
  for (auto& b : bufs) {
    const std::size_t k = std::min(n, b.size());
    b += k;
    n -= k;
  }
}

}  // namespace

asio::awaitable<bool> ConnectionWriter::write(asio::const_buffer a, asio::const_buffer b,
                                              asio::const_buffer c) {
  if (!ok_) co_return false;
  if (too_slow()) {
    // The client reads so slowly that it would hold the upstream stream open indefinitely.
    if (limits_.counters != nullptr)
      limits_.counters->slow_clients.fetch_add(1, std::memory_order_relaxed);
    abort();
    co_return false;
  }
  // The held head moves into this frame: it goes out with this write or not at all.
  const std::string head = std::move(held_head_);
  held_head_.clear();
  std::array<asio::const_buffer, 4> bufs{asio::buffer(head), a, b, c};
  std::size_t sent = 0;
  if (!stream_.is_tls()) {
    const SendNow now = send_now(stream_.socket().native_handle(), bufs);
    if (now.failed) {
      ok_ = false;
      co_return false;
    }
    sent = now.bytes;
    if (sent == asio::buffer_size(bufs)) {
      note_write(sent, std::chrono::steady_clock::duration::zero());
      co_return ok_;
    }
    skip(bufs, sent);
  }
  if (!deadline_) deadline_.emplace(stream_.socket());
  deadline_->arm(limits_.send_timeout);
  auto started = std::chrono::steady_clock::now();
  auto [ec, n] = co_await asio::async_write(stream_, bufs, asio::as_tuple(asio::use_awaitable));
  deadline_->disarm();
  if (ec)
    ok_ = false;
  else
    note_write(sent + n, std::chrono::steady_clock::now() - started);
  co_return ok_;
}

// The socket buffers absorb the start of any response at once, which says nothing about the
// client; the rate counts from the first write that had to wait for the client to read.
void ConnectionWriter::note_write(std::size_t bytes, std::chrono::steady_clock::duration took) {
  constexpr auto kBlocked = std::chrono::milliseconds(10);
  if (waited_ == std::chrono::steady_clock::duration::zero() && took < kBlocked) return;
  waited_ += took;
  written_ += bytes;
}

// Judged before a write, so the burst a blocked write's completion lets through counts too.
bool ConnectionWriter::too_slow() const {
  if (limits_.min_send_rate == 0 || waited_ <= limits_.send_rate_grace) return false;
  double seconds = std::chrono::duration<double>(waited_).count();
  return static_cast<double>(written_) < static_cast<double>(limits_.min_send_rate) * seconds;
}

asio::awaitable<bool> ConnectionWriter::send_head(const ResponseHead& head) {
  held_head_ = head_bytes(head);
  co_return co_await write({});
}

void ConnectionWriter::hold_head(const ResponseHead& head) {
  held_head_ = head_bytes(head);
}

asio::awaitable<bool> ConnectionWriter::flush() {
  if (held_head_.empty()) co_return ok_;
  co_return co_await write({});
}

std::string ConnectionWriter::head_bytes(const ResponseHead& head) {
  std::string out;
  out.reserve(256);
  out += http10_ ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(head.status);
  out += ' ';
  out += reason_phrase(head.status);
  out += "\r\n";
  for (const auto& h : head.headers) {
    out += h.name;
    out += ": ";
    out += h.value;
    out += "\r\n";
  }
  if (head.content_length) {
    out += "content-length: " + std::to_string(*head.content_length) + "\r\n";
  } else if (http10_) {
    keep_alive_ = false;  // HTTP/1.0 has no chunking: the body ends when the connection does
  } else {
    chunked_ = true;
    out += "transfer-encoding: chunked\r\n";
  }
  if (!keep_alive_) out += "connection: close\r\n";
  out += "\r\n";
  head_sent_ = true;
  return out;
}

asio::awaitable<bool> ConnectionWriter::send_body(std::string_view data) {
  if (data.empty()) co_return co_await flush();
  if (!chunked_) co_return co_await write(asio::buffer(data.data(), data.size()));
  char size_line[24];
  const std::size_t n = chunk_size_line(data.size(), size_line);
  co_return co_await write(asio::buffer(size_line, n), asio::buffer(data.data(), data.size()),
                           asio::buffer("\r\n", 2));
}

asio::awaitable<bool> ConnectionWriter::finish() {
  end_watch();
  if (chunked_ && ok_)
    co_await write(asio::buffer("0\r\n\r\n", 5));
  else
    co_await flush();
  finished_ = ok_;
  co_return ok_;
}

void ConnectionWriter::abort() {
  end_watch();
  ok_ = false;
  held_head_.clear();
  boost::system::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

void ConnectionWriter::watch_disconnect(std::function<void()> on_gone) {
  if (watch_ && watch_->gone) {
    on_gone();
    return;
  }
  if (watch_ && watch_->active && watch_->waiting) {
    watch_->on_gone = std::move(on_gone);
    return;
  }
  end_watch();
  watch_ = std::make_shared<Watch>();
  watch_->on_gone = std::move(on_gone);
  watch_->tls = stream_.is_tls();
  arm(watch_);
}

void ConnectionWriter::stop_watching() {
  if (watch_) watch_->on_gone = nullptr;
}

void ConnectionWriter::end_watch() {
  if (!watch_) return;
  watch_->active = false;
  if (watch_->recheck) watch_->recheck->cancel();
  watch_.reset();
  // Only the watch waits on the socket here; writes are awaited, never left pending.
  boost::system::error_code ignored;
  stream_.socket().cancel(ignored);
}

void ConnectionWriter::arm(const std::shared_ptr<Watch>& w) {
  watch_socket(stream_.socket(), w);
}

void ConnectionWriter::watch_later(asio::ip::tcp::socket& sock, const std::shared_ptr<Watch>& w) {
  if (!w->recheck) w->recheck = std::make_unique<asio::steady_timer>(sock.get_executor());
  w->recheck->expires_after(std::chrono::milliseconds(200));
  w->waiting = true;
  w->recheck->async_wait([w, &sock](boost::system::error_code ec) {
    w->waiting = false;
    if (ec || !w->active) return;
    if (!peer_hung_up(sock.native_handle())) return watch_later(sock, w);
    hung_up(*w);
  });
}

void ConnectionWriter::watch_socket(asio::ip::tcp::socket& sock, const std::shared_ptr<Watch>& w) {
  w->waiting = true;
  sock.async_wait(asio::ip::tcp::socket::wait_read, [w, &sock](boost::system::error_code ec) {
    w->waiting = false;
    // Inactive means the request ended and the socket may be gone: touch nothing.
    if (!w->active) return;
    if (!ec) {
      char c;
      ssize_t n = ::recv(sock.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return watch_socket(sock, w);
      if (n > 0 && !peer_hung_up(sock.native_handle())) {
        // Plain: the client pipelined its next request, so it is still there. TLS: the bytes
        // may be a close_notify alert with the FIN still to come; look again shortly.
        if (w->tls) watch_later(sock, w);
        return;
      }
    }
    hung_up(*w);
  });
}

void ConnectionWriter::hung_up(Watch& w) {
  w.active = false;
  if (w.on_gone)
    w.on_gone();
  else
    w.gone = true;  // for the next phase's watch_disconnect
}

}  // namespace relay::http
