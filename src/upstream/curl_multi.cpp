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

CurlMulti::CurlMulti(asio::io_context& io) : io_(io), timer_(io), multi_(curl_multi_init()) {
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket_cb);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer_cb);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlMulti::~CurlMulti() {
  timer_.cancel();
  for (auto* holder : watches_) {
    (*holder)->removed = true;
    (*holder)->sd.release();
    delete holder;
  }
  watches_.clear();
  curl_multi_cleanup(multi_);
}

void CurlMulti::add(CURL* easy) {
  curl_multi_add_handle(multi_, easy);
}

void CurlMulti::remove(CURL* easy) {
  curl_multi_remove_handle(multi_, easy);
}

int CurlMulti::on_socket_cb(CURL*, curl_socket_t s, int what, void* userp, void* socketp) {
  auto* self = static_cast<CurlMulti*>(userp);
  auto* holder = static_cast<std::shared_ptr<Watch>*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    if (holder) {
      (*holder)->removed = true;
      (*holder)->sd.release();
      self->watches_.erase(holder);
      delete holder;
      curl_multi_assign(self->multi_, s, nullptr);
    }
    return 0;
  }
  if (!holder) {
    holder = new std::shared_ptr<Watch>(std::make_shared<Watch>(self->io_, s));
    self->watches_.insert(holder);
    curl_multi_assign(self->multi_, s, holder);
  }
  (*holder)->what = what;
  self->arm(*holder);
  return 0;
}

void CurlMulti::arm(const std::shared_ptr<Watch>& w) {
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

int CurlMulti::on_timer_cb(CURLM*, long timeout_ms, void* userp) {
  auto* self = static_cast<CurlMulti*>(userp);
  self->timer_.cancel();
  const std::uint64_t generation = ++self->timer_generation_;
  if (timeout_ms < 0) return 0;
  // Even a zero timeout goes through the loop: socket_action must not run inside a callback.
  // curl asks for one on every transfer it starts; a post() avoids re-arming the io_context's
  // timerfd each time (a timerfd_settime per request, 5 % of the relay's CPU in bench/).
  if (timeout_ms == 0) {
    asio::post(self->io_, [self, generation] {
      if (generation == self->timer_generation_) self->socket_action(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
  }
  self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  self->timer_.async_wait([self](boost::system::error_code ec) {
    if (!ec) self->socket_action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void CurlMulti::socket_action(curl_socket_t s, int events) {
  curl_multi_socket_action(multi_, s, events, &running_);
  check_done();
}

void CurlMulti::check_done() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode result = msg->data.result;
    Transfer* t = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &t);
    curl_multi_remove_handle(multi_, easy);
    if (t) t->on_done(result);
  }
}

}  // namespace relay::upstream
