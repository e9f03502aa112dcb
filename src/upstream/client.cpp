#include "upstream/client.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace relay::upstream {

namespace asio = boost::asio;

Client::Client(asio::io_context& io) : io_(io), self_(std::make_shared<Client*>(this)) {}

Client::~Client() {
  *self_ = nullptr;
}

std::unique_ptr<ByteStream> Client::take(const std::string& destination) {
  auto it = idle_.find(destination);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  const auto oldest_allowed = std::chrono::steady_clock::now() - kIdleLimit;
  std::unique_ptr<ByteStream> out;
  while (!list.empty() && !out) {
    Idle idle = std::move(list.back());
    list.pop_back();
    if (idle.since < oldest_allowed) continue;  // the ones before it are older still
    out = std::move(idle.stream);
    boost::system::error_code ignored;
    out->socket().cancel(ignored);  // ends the watch; its handler sees operation_aborted
  }
  if (!out) list.clear();
  return out;
}

void Client::give_back(const std::string& destination, std::unique_ptr<ByteStream> c) {
  auto& list = idle_[destination];
  if (list.size() >= kIdlePerDestination) return;  // `c` closes here
  const std::uint64_t id = ++next_id_;
  watch(list, id, *c);
  list.push_back({std::move(c), std::chrono::steady_clock::now(), id});
}

// `list` stays where it is: entries of idle_ are never erased, only emptied.
void Client::watch(std::vector<Idle>& list, std::uint64_t id, ByteStream& c) {
  c.socket().async_wait(
      asio::socket_base::wait_read,
      [weak = std::weak_ptr<Client*>(self_), l = &list, id](boost::system::error_code ec) {
        if (ec == asio::error::operation_aborted) return;
        auto self = weak.lock();
        if (self && *self) (*self)->on_readable(*l, id);
      });
}

// asio's waits on an edge-triggered epoll may wake for a readiness that is gone (an event
// queued before the last read took the bytes), so a wake-up is checked with a peek: nothing
// there, and the connection is watched again; a close, bytes or an error, and it goes.
void Client::on_readable(std::vector<Idle>& list, std::uint64_t id) {
  for (auto i = list.begin(); i != list.end(); ++i) {
    if (i->id != id) continue;
    char byte = 0;
    const ssize_t n =
        ::recv(i->stream->socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      watch(list, id, *i->stream);
    else
      list.erase(i);
    return;
  }
}

std::size_t Client::idle_count() const {
  std::size_t n = 0;
  for (const auto& [destination, list] : idle_) n += list.size();
  return n;
}

}  // namespace relay::upstream
