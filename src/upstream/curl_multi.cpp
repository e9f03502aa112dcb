#include "upstream/curl_multi.hpp"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <chrono>

#include "upstream/transfer.hpp"

namespace relay::upstream {

namespace asio = boost::asio;

// The descriptor does not own curl's fd: it is released, never closed, on CURL_POLL_REMOVE.
// `removed` makes handlers that were already queued for a dead socket do nothing.
struct CurlMulti::Watch {
  Watch(asio::io_context& io, curl_socket_t s) : sd(io, s), fd(s) {}
  asio::posix::stream_descriptor sd;
  curl_socket_t fd;
  int what = 0;
  bool removed = false;
  bool reading = false;
  bool writing = false;
};

// One curl multi handle with its own timer and sockets; everything curl calls back lands here.
struct CurlMulti::Shard {
  explicit Shard(asio::io_context& io) : io(io), timer(io), multi(curl_multi_init()) {
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Shard::on_socket_cb);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Shard::on_timer_cb);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  }
  ~Shard() {
    timer.cancel();
    for (auto* holder : watches) {
      (*holder)->removed = true;
      (*holder)->sd.release();
      delete holder;
    }
    curl_multi_cleanup(multi);
  }
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  static int on_socket_cb(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int on_timer_cb(CURLM* multi, long timeout_ms, void* userp);
  void arm(const std::shared_ptr<Watch>& w);
  void socket_action(curl_socket_t s, int events);
  void check_done();

  asio::io_context& io;
  asio::steady_timer timer;
  CURLM* multi;
  int running = 0;
  std::size_t in_flight = 0;  // added and not yet removed
  // Bumped by every timer callback: a posted zero timeout that curl has since replaced is void.
  std::uint64_t timer_generation = 0;
  std::unordered_set<std::shared_ptr<Watch>*> watches;
};

CurlMulti::CurlMulti(asio::io_context& io) : io_(io) {
  for (auto& shard : shards_) shard = std::make_unique<Shard>(io);
}

CurlMulti::~CurlMulti() {
  for (CURL* easy : spare_easy_) curl_easy_cleanup(easy);
}

CURL* CurlMulti::take_easy() {
  if (spare_easy_.empty()) return curl_easy_init();
  CURL* easy = spare_easy_.back();
  spare_easy_.pop_back();
  return easy;
}

void CurlMulti::give_back_easy(CURL* easy) {
  if (easy == nullptr) return;
  if (spare_easy_.size() >= kSpareEasy) {
    curl_easy_cleanup(easy);
    return;
  }
  curl_easy_reset(easy);
  spare_easy_.push_back(easy);
}

std::size_t CurlMulti::add(CURL* easy) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < kShards; ++i)
    if (shards_[i]->in_flight < shards_[best]->in_flight) best = i;
  ++shards_[best]->in_flight;
  curl_multi_add_handle(shards_[best]->multi, easy);
  return best;
}

void CurlMulti::remove(CURL* easy, std::size_t shard) {
  Shard& s = *shards_[shard];
  if (curl_multi_remove_handle(s.multi, easy) == CURLM_OK && s.in_flight > 0) --s.in_flight;
}

int CurlMulti::Shard::on_socket_cb(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
  auto* self = static_cast<Shard*>(userp);
  auto* holder = static_cast<std::shared_ptr<Watch>*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (holder) {
      (*holder)->removed = true;
      (*holder)->sd.release();
      self->watches.erase(holder);
      delete holder;
      curl_multi_assign(self->multi, s, nullptr);
    }
    return 0;
  }
  if (!holder) {
    holder = new std::shared_ptr<Watch>(std::make_shared<Watch>(self->io, s));
    self->watches.insert(holder);
    curl_multi_assign(self->multi, s, holder);
  }
  (*holder)->what = what;
  self->arm(*holder);
  return 0;
}

void CurlMulti::Shard::arm(const std::shared_ptr<Watch>& w) {
  if ((w->what & CURL_POLL_IN) && !w->reading) {
    w->reading = true;
    w->sd.async_wait(asio::posix::descriptor_base::wait_read,
                     [this, w](boost::system::error_code ec) {
                       w->reading = false;
                       if (w->removed || ec == asio::error::operation_aborted) return;
                       socket_action(w->fd, ec ? CURL_CSELECT_ERR : CURL_CSELECT_IN);
                       if (!w->removed) arm(w);
                     });
  }
  if ((w->what & CURL_POLL_OUT) && !w->writing) {
    w->writing = true;
    w->sd.async_wait(asio::posix::descriptor_base::wait_write,
                     [this, w](boost::system::error_code ec) {
                       w->writing = false;
                       if (w->removed || ec == asio::error::operation_aborted) return;
                       socket_action(w->fd, ec ? CURL_CSELECT_ERR : CURL_CSELECT_OUT);
                       if (!w->removed) arm(w);
                     });
  }
}

int CurlMulti::Shard::on_timer_cb(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<Shard*>(userp);
  self->timer.cancel();
  const std::uint64_t generation = ++self->timer_generation;
  if (timeout_ms < 0) return 0;
  // Even a zero timeout goes through the loop: socket_action must not run inside a callback.
  // curl asks for one on every transfer it starts; a post() avoids re-arming the io_context's
  // timerfd each time (a timerfd_settime per request, 5 % of the relay's CPU in bench/).
  if (timeout_ms == 0) {
    asio::post(self->io, [self, generation] {
      if (generation == self->timer_generation) self->socket_action(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
  }
  self->timer.expires_after(std::chrono::milliseconds(timeout_ms));
  self->timer.async_wait([self](boost::system::error_code ec) {
    if (!ec) self->socket_action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void CurlMulti::Shard::socket_action(curl_socket_t s, int events) {
  curl_multi_socket_action(multi, s, events, &running);
  check_done();
}

void CurlMulti::Shard::check_done() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    Transfer* t = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
    curl_multi_remove_handle(multi, easy);
    if (in_flight > 0) --in_flight;
    if (t) t->on_done(result);
  }
}

}  // namespace relay::upstream
