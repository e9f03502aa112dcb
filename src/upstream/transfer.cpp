#include "upstream/transfer.hpp"

#include <charconv>

#include "upstream/curl_multi.hpp"

namespace relay::upstream {

Transfer::Transfer(CurlMulti& multi, const UpstreamRequest& req, const TransferOptions& opt)
    : multi_(multi),
      easy_(multi.take_easy()),
      signal_(multi.io()),
      buffer_limit_(opt.buffer_bytes),
      last_progress_(std::chrono::steady_clock::now()) {
  curl_easy_setopt(easy_, CURLOPT_PRIVATE, this);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buf_);
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt.connect_timeout_ms));
  // No proxy unless an egress is set: never pick one up from *_proxy environment variables.
  curl_easy_setopt(easy_, CURLOPT_PROXY, req.proxy.c_str());
  if (!req.proxy.empty()) {
    // A tunnel even to an http:// upstream: the egress then only ever sees host:port, never a
    // request line, a header or a body.
    curl_easy_setopt(easy_, CURLOPT_HTTPPROXYTUNNEL, 1L);
    if (!req.proxy_ca_file.empty())
      curl_easy_setopt(easy_, CURLOPT_PROXY_CAINFO, req.proxy_ca_file.c_str());
  }
  connect_only_ = req.connect_only;
  if (req.connect_only) curl_easy_setopt(easy_, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(easy_, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &Transfer::on_header_cb);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, this);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Transfer::on_write_cb);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
  if (!req.ca_file.empty()) curl_easy_setopt(easy_, CURLOPT_CAINFO, req.ca_file.c_str());

  static const std::string kNoBody;
  // POSTFIELDS does not copy: the body must be the client request's own, alive until the end.
  const std::string& body = req.body ? *req.body : kNoBody;
  bool has_content_type = false;
  for (const auto& h : req.headers) {
    if (h.name == "content-type") has_content_type = true;
    std::string line = h.name + ": " + h.value;
    header_list_ = curl_slist_append(header_list_, line.c_str());
  }
  // curl would add `Expect: 100-continue` to large bodies (one more round trip) and a form
  // content type to bodies without one; an empty value removes each.
  header_list_ = curl_slist_append(header_list_, "Expect:");
  if (!has_content_type) header_list_ = curl_slist_append(header_list_, "Content-Type:");
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, header_list_);

  if (req.method == "GET") {
    curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "HEAD") {
    curl_easy_setopt(easy_, CURLOPT_NOBODY, 1L);
  } else {
    if (req.method != "POST") curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.method == "POST" || !body.empty()) {
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body.data());
    }
  }
}

Transfer::~Transfer() {
  if (attached_) multi_.remove(easy_, shard_);
  // A CONNECT_ONLY handle keeps its connection past the transfer (curl_easy_reset would not
  // close it): those (egress probes, not per request) are freed, never kept.
  if (connect_only_)
    curl_easy_cleanup(easy_);
  else
    multi_.give_back_easy(easy_);
  curl_slist_free_all(header_list_);
}

void Transfer::start() {
  attached_ = true;
  shard_ = multi_.add(easy_);
}

void Transfer::cancel() {
  if (done_) return;
  cancelled_ = true;
  done_ = true;
  result_ = CURLE_ABORTED_BY_CALLBACK;
  if (attached_) {
    // Removing the handle closes its connection mid-transfer: the upstream sees the hang-up now.
    multi_.remove(easy_, shard_);
    attached_ = false;
  }
  notify();
}

void Transfer::on_done(CURLcode result) {
  attached_ = false;
  done_ = true;
  result_ = result;
  notify();
}

std::optional<std::size_t> Transfer::content_length() const {
  const auto* v = http::find_header(headers_, "content-length");
  if (!v) return std::nullopt;
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
  return n;
}

std::string Transfer::take_body() {
  std::string out;
  out.swap(buffer_);
  if (paused_ && attached_) {
    paused_ = false;
    // May call on_write_cb right here; it appends to the (now empty) buffer.
    curl_easy_pause(easy_, CURLPAUSE_CONT);
  }
  return out;
}

std::string Transfer::error_text() const {
  if (error_buf_[0]) return error_buf_;
  return curl_easy_strerror(result_);
}

std::size_t Transfer::on_header_cb(char* data, std::size_t size, std::size_t n, void* p) {
  auto* self = static_cast<Transfer*>(p);
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line: interim (1xx) responses reset what came before.
    self->headers_.clear();
    auto sp = line.find(' ');
    int code = 0;
    if (sp != std::string_view::npos && line.size() >= sp + 4)
      std::from_chars(line.data() + sp + 1, line.data() + sp + 4, code);
    self->status_ = code;
  } else if (line.empty()) {
    if (self->status_ >= 200) {
      self->headers_ready_ = true;
      self->last_progress_ = std::chrono::steady_clock::now();
      self->notify();
    }
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    self->headers_.push_back({http::to_lower(line.substr(0, colon)), std::string(value)});
  }
  return size * n;
}

std::size_t Transfer::on_write_cb(char* data, std::size_t size, std::size_t n, void* p) {
  auto* self = static_cast<Transfer*>(p);
  std::size_t len = size * n;
  if (self->buffer_.size() >= self->buffer_limit_) {
    // Leave the bytes with curl; it hands them over again after CURLPAUSE_CONT.
    self->paused_ = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  self->headers_ready_ = true;
  self->buffer_.append(data, len);
  self->last_progress_ = std::chrono::steady_clock::now();
  self->notify();
  return len;
}

}  // namespace relay::upstream
