#include "upstream/response_parser.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

namespace relay::upstream {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;

// Beast's parser calls these as it goes; they only copy out what the transfer needs.
class ResponseParser::Impl final : public bhttp::basic_parser<false> {
 public:
  Impl(ResponseParser& owner, std::string& body) : owner_(owner), body_(body) {
    header_limit(kHeaderLimit);
    body_limit(boost::none);  // a stream has no end known in advance
    eager(true);
  }

 private:
  void on_request_impl(bhttp::verb, beast::string_view, beast::string_view, int,
                       error_code& ec) override {
    ec = bhttp::error::bad_method;  // never called for a response parser
  }
  // Beast takes any three digits; a status below 100 has no meaning and would reach the
  // client as the relay's own answer.
  void on_response_impl(int code, beast::string_view, int, error_code& ec) override {
    if (code < 100) ec = bhttp::error::bad_status;
    owner_.status_ = code;
  }
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value,
                     error_code&) override {
    owner_.headers_.push_back(
        {http::to_lower(std::string_view(name.data(), name.size())), std::string(value)});
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(beast::string_view data, error_code&) override {
    body_.append(data.data(), data.size());
    return data.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view data, error_code&) override {
    body_.append(data.data(), data.size());
    return data.size();
  }
  void on_finish_impl(error_code&) override {}

  ResponseParser& owner_;
  std::string& body_;
};

ResponseParser::ResponseParser(std::string& body) : impl_(std::make_unique<Impl>(*this, body)) {}
ResponseParser::~ResponseParser() = default;

void ResponseParser::no_body() {
  impl_->skip(true);
}

std::size_t ResponseParser::feed(std::string_view data, error_code& ec) {
  ec.clear();
  std::size_t used = 0;
  while (used < data.size() && !impl_->is_done()) {
    std::size_t n =
        impl_->put(boost::asio::const_buffer(data.data() + used, data.size() - used), ec);
    used += n;
    if (ec == bhttp::error::need_more) {
      ec.clear();
      break;
    }
    if (ec) break;
    if (n == 0) break;
  }
  return used;
}

void ResponseParser::feed_eof(error_code& ec) {
  ec.clear();
  if (impl_->is_done()) return;
  if (!impl_->got_some()) {  // Beast's put_eof requires a byte first: a close before any is a cut
    ec = bhttp::error::end_of_stream;
    return;
  }
  impl_->put_eof(ec);
}

bool ResponseParser::header_done() const {
  return impl_->is_header_done();
}
bool ResponseParser::done() const {
  return impl_->is_done();
}
bool ResponseParser::keep_alive() const {
  return impl_->is_header_done() && impl_->keep_alive();
}

std::optional<std::uint64_t> ResponseParser::content_length() const {
  auto n = impl_->content_length();
  if (!n) return std::nullopt;
  return *n;
}

}  // namespace relay::upstream
