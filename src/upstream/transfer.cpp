#include "upstream/transfer.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <charconv>

#include "upstream/client.hpp"
#include "upstream/transfer_state.hpp"

namespace relay::upstream {

namespace {

// The request as it goes on the wire. Header names arrive lower-case and filtered
// (forward.cpp); HTTP/1.1 names are case-insensitive. No Expect: 100-continue (a round trip
// more) and no Content-Type of our own.
std::string wire_request(const UpstreamRequest& req, const Target& target, std::string& why) {
  static const std::string kNoBody;
  const std::string& body = req.body ? *req.body : kNoBody;
  std::string w;
  w.reserve(256 + body.size());
  w += req.method;
  w += ' ';
  w += target.path;
  w += " HTTP/1.1\r\nhost: ";
  w += target.authority;
  w += "\r\n";
  for (const auto& h : req.headers) {
    if (!safe_header_value(h.value) || !safe_header_value(h.name)) {
      why = "the request's header " + h.name + " holds a line break";
      return {};
    }
    w += h.name;
    w += ": ";
    w += h.value;
    w += "\r\n";
  }
  if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH" || !body.empty()) {
    w += "content-length: ";
    w += std::to_string(body.size());
    w += "\r\n";
  }
  w += "\r\n";
  w += body;
  return w;
}

}  // namespace

Transfer::Transfer(Client& client, const UpstreamRequest& req, const TransferOptions& opt)
    : client_(client), state_(std::make_shared<State>(client.io())) {
  State& s = *state_;
  s.buffer_limit = opt.buffer_bytes;
  s.connect_timeout_ms = opt.connect_timeout_ms;
  s.last_progress = std::chrono::steady_clock::now();
  s.target = parse_target(req.url);
  s.ca_file = req.ca_file;
  s.proxy = req.proxy;
  s.proxy_ca_file = req.proxy_ca_file;
  s.connect_only = req.connect_only;
  s.head_request = req.method == "HEAD";
  if (!s.target) return;
  std::string why;
  s.wire = wire_request(req, *s.target, why);
  if (!why.empty()) {
    s.target.reset();
    s.error = why;
    return;
  }
  s.destination.reserve(64 + s.proxy.size());
  s.destination += s.target->tls ? "https://" : "http://";
  s.destination += s.target->authority;
  s.destination += '\n';
  s.destination += s.ca_file;
  s.destination += '\n';
  s.destination += s.proxy;
  s.destination += '\n';
  s.destination += s.proxy_ca_file;
}

Transfer::~Transfer() {
  cancel();
}

void Transfer::start() {
  if (!state_->target) {
    state_->finish(state_->error.empty() ? "the upstream URL is not a valid http(s) URL"
                                         : state_->error);
    return;
  }
  boost::asio::co_spawn(client_.io(), run_transfer(state_, client_), boost::asio::detached);
}

void Transfer::cancel() {
  State& s = *state_;
  if (s.done) return;
  s.cancelled = true;
  boost::system::error_code ignored;
  if (s.socket) s.socket->close(ignored);  // the upstream sees the hang-up now
  s.stop_waiting();
  s.finish({});
}

bool Transfer::headers_ready() const {
  return state_->headers_ready;
}
int Transfer::status() const {
  return state_->status;
}
const http::Headers& Transfer::headers() const {
  return state_->headers;
}
bool Transfer::has_body() const {
  return !state_->buffer.empty();
}
bool Transfer::done() const {
  return state_->done;
}
bool Transfer::cancelled() const {
  return state_->cancelled;
}
bool Transfer::failed() const {
  return state_->done && !state_->cancelled && state_->failed;
}
bool Transfer::timed_out() const {
  return state_->timed_out;
}
std::string Transfer::error_text() const {
  return state_->error;
}
bool Transfer::paused() const {
  return state_->paused;
}
Signal& Transfer::signal() {
  return state_->signal;
}

std::chrono::steady_clock::time_point Transfer::last_progress() const {
  return state_->last_progress;
}

std::optional<std::size_t> Transfer::content_length() const {
  const auto* v = http::find_header(state_->headers, "content-length");
  if (!v) return std::nullopt;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
  return n;
}

std::string Transfer::take_body() {
  std::string out;
  out.swap(state_->buffer);
  if (state_->paused) state_->resume_timer().cancel();
  return out;
}

}  // namespace relay::upstream
