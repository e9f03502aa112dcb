// Fuzz target: the SOCKS5 client codec. Every parser gets the input (whole, and its first two
// bytes as a fixed-size answer); the CONNECT reply sizer gets every prefix, and the reply parser
// exactly the size it announces. None may crash, give both a size and an error, or produce an
// error that is not one printable line; a size, once known, never changes as bytes arrive. The
// input as a host must give no request or one whose layout the reply sizer measures exactly.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "upstream/socks5.hpp"

namespace {

namespace s5 = relay::upstream::socks5;

void check_error(const std::string& error) {
  if (error.rfind("SOCKS5 proxy: ", 0) != 0) std::abort();
  for (char c : error)
    if (c < 0x20 || c > 0x7e) std::abort();  // also catches a NUL or any raw input byte above 0x7e
}

void check_choice(const s5::MethodChoice& c, std::string_view reply, bool offered_password) {
  if (c.method.has_value() == !c.error.empty()) std::abort();
  if (!c.method) return check_error(c.error);
  if (reply.size() != 2 || reply[0] != 0x05) std::abort();
  if (*c.method == s5::Method::kPassword && !offered_password) std::abort();
}

void check_password_reply(std::string_view reply) {
  const std::string error = s5::parse_password_reply(reply);
  if (error.empty()) {
    if (reply.size() != 2 || reply[0] != 0x01 || reply[1] != 0x00) std::abort();
  } else {
    check_error(error);
  }
}

void check_connect_reply(std::string_view text) {
  std::size_t known_total = 0;
  bool known_bad = false;
  for (std::size_t n = 0; n <= text.size(); ++n) {
    const s5::ReplySize s = s5::connect_reply_size(text.substr(0, n));
    if (s.total != 0 && !s.error.empty()) std::abort();
    if (!s.error.empty()) {
      check_error(s.error);
      if (known_total != 0) std::abort();  // a header already found valid cannot turn bad
      known_bad = true;
      continue;
    }
    if (known_bad) std::abort();  // nor a bad one turn good
    if ((n < 5) != (s.total == 0)) std::abort();
    if (s.total == 0) continue;
    if (s.total < 7 || s.total > 4 + 1 + 255 + 2) std::abort();
    if (known_total != 0 && s.total != known_total) std::abort();
    known_total = s.total;
  }
  const std::string whole = s5::parse_connect_reply(text);
  if (!whole.empty()) check_error(whole);
  if (known_total != 0 && known_total <= text.size()) {
    const std::string_view reply = text.substr(0, known_total);
    const std::string error = s5::parse_connect_reply(reply);
    if (error.empty() != (reply[1] == 0x00)) std::abort();
    if (!error.empty()) check_error(error);
    if (known_total == text.size() && error != whole) std::abort();
  } else if (whole.empty()) {
    std::abort();  // a reply the sizer could not measure cannot be a success
  }
}

void check_connect_request(std::string_view host, std::uint16_t port) {
  const auto req = s5::connect_request(host, port);
  if (!req) {
    if (!host.empty() && host.size() <= 255) std::abort();  // every other host fits as a name
    return;
  }
  if (req->size() < 7 || (*req)[0] != 0x05 || (*req)[1] != 0x01 || (*req)[2] != 0x00) std::abort();
  const auto atyp = static_cast<unsigned char>((*req)[3]);
  std::size_t expected = 0;
  if (atyp == 0x01) {
    expected = 10;
  } else if (atyp == 0x04) {
    expected = 22;
  } else if (atyp == 0x03) {
    const auto len = static_cast<unsigned char>((*req)[4]);
    if (len != host.size() || req->compare(5, len, host) != 0) std::abort();
    expected = 7 + len;
  } else {
    std::abort();
  }
  if (req->size() != expected) std::abort();
  if (static_cast<unsigned char>((*req)[expected - 2]) != port >> 8 ||
      static_cast<unsigned char>((*req)[expected - 1]) != (port & 0xFF))
    std::abort();
  // The request has the reply's layout, so the reply sizer must measure it exactly.
  const s5::ReplySize s = s5::connect_reply_size(*req);
  if (!s.error.empty() || s.total != req->size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string_view head = text.substr(0, 2);
  for (bool offered : {false, true}) {
    check_choice(s5::parse_method_choice(text, offered), text, offered);
    check_choice(s5::parse_method_choice(head, offered), head, offered);
  }
  check_password_reply(text);
  check_password_reply(head);
  check_connect_reply(text);
  check_connect_request(text, static_cast<std::uint16_t>(size * 2654435761u));
  return 0;
}
