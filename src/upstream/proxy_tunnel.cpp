#include "upstream/proxy_tunnel.hpp"

#include <openssl/evp.h>

#include "upstream/response_parser.hpp"
#include "upstream/socks5.hpp"

namespace relay::upstream {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

// Far above any proxy's answer to CONNECT or SOCKS5; a proxy that sends more is refused.
constexpr std::size_t kReplyLimit = std::size_t{16} * 1024;

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string authority(const std::string& host, std::uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Reads until `have` holds at least `want` bytes.
asio::awaitable<void> read_at_least(ByteStream& s, std::string& have, std::size_t want,
                                    error_code& ec) {
  char buf[512];
  while (have.size() < want) {
    std::size_t n = co_await s.read_some(asio::buffer(buf), ec);
    if (ec) co_return;
    have.append(buf, n);
  }
}

asio::awaitable<void> http_connect(ByteStream& s, const egress::ProxyUrl& proxy,
                                   const std::string& host, std::uint16_t port, error_code& ec,
                                   std::string& why) {
  const std::string target = authority(host, port);
  std::string req = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
  if (!proxy.user.empty())
    req += "Proxy-Authorization: Basic " + base64(proxy.user + ":" + proxy.password) + "\r\n";
  req += "\r\n";
  co_await s.write_all(asio::buffer(req), ec);
  OPENSSL_cleanse(req.data(), req.size());
  if (ec) {
    why = "egress " + proxy.endpoint() + ": " + ec.message();
    co_return;
  }
  std::string ignored_body;
  ResponseParser parser(ignored_body);
  parser.no_body();
  std::string in;
  char buf[1024];
  while (!parser.header_done()) {
    std::size_t n = co_await s.read_some(asio::buffer(buf), ec);
    if (ec) {
      why = "egress " + proxy.endpoint() + " closed the connection before answering CONNECT";
      co_return;
    }
    in.append(buf, n);
    std::size_t used = parser.feed(in, ec);
    if (ec || in.size() > kReplyLimit) {
      ec = asio::error::invalid_argument;
      why = "egress " + proxy.endpoint() + " sent a malformed answer to CONNECT";
      co_return;
    }
    in.erase(0, used);
  }
  if (parser.status() < 200 || parser.status() > 299) {
    ec = asio::error::connection_refused;
    why =
        "egress " + proxy.endpoint() + " answered CONNECT with " + std::to_string(parser.status());
    co_return;
  }
  if (!in.empty()) {  // the provider cannot have spoken yet: the client speaks first in TLS
    ec = asio::error::invalid_argument;
    why = "egress " + proxy.endpoint() + " sent bytes after its answer to CONNECT";
  }
}

asio::awaitable<void> socks5_connect(ByteStream& s, const egress::ProxyUrl& proxy,
                                     const std::string& host, std::uint16_t port, error_code& ec,
                                     std::string& why) {
  const std::string name = "egress " + proxy.endpoint() + ": ";
  auto refuse = [&](std::string text) {
    ec = asio::error::connection_refused;
    why = name + text;
  };
  const bool with_password = !proxy.user.empty();
  std::string in;
  const std::string greeting = socks5::greeting(with_password);
  co_await s.write_all(asio::buffer(greeting), ec);
  if (!ec) co_await read_at_least(s, in, 2, ec);
  if (ec) {
    why = name + ec.message();
    co_return;
  }
  auto choice = socks5::parse_method_choice(std::string_view(in).substr(0, 2), with_password);
  in.erase(0, 2);
  if (!choice.method) {
    refuse(choice.error);
    co_return;
  }
  if (*choice.method == socks5::Method::kPassword) {
    auto auth = socks5::password_request(proxy.user, proxy.password);
    if (!auth) {
      refuse("the user name or password is too long for SOCKS5");
      co_return;
    }
    co_await s.write_all(asio::buffer(*auth), ec);
    OPENSSL_cleanse(auth->data(), auth->size());
    if (!ec) co_await read_at_least(s, in, 2, ec);
    if (ec) {
      why = name + ec.message();
      co_return;
    }
    std::string bad = socks5::parse_password_reply(std::string_view(in).substr(0, 2));
    in.erase(0, 2);
    if (!bad.empty()) {
      refuse(bad);
      co_return;
    }
  }
  auto connect = socks5::connect_request(host, port);
  if (!connect) {
    refuse("the provider's host name does not fit in a SOCKS5 request");
    co_return;
  }
  co_await s.write_all(asio::buffer(*connect), ec);
  if (!ec) co_await read_at_least(s, in, 5, ec);
  if (ec) {
    why = name + ec.message();
    co_return;
  }
  auto size = socks5::connect_reply_size(in);
  if (!size.error.empty() || size.total == 0) {
    refuse(size.error.empty() ? std::string("malformed reply") : size.error);
    co_return;
  }
  co_await read_at_least(s, in, size.total, ec);
  if (ec) {
    why = name + ec.message();
    co_return;
  }
  std::string bad = socks5::parse_connect_reply(std::string_view(in).substr(0, size.total));
  if (!bad.empty()) {
    refuse(bad);
    co_return;
  }
  if (in.size() > size.total) {
    ec = asio::error::invalid_argument;
    why = name + "bytes after the SOCKS5 reply";
  }
}

}  // namespace

asio::awaitable<void> open_tunnel(ByteStream& stream, const egress::ProxyUrl& proxy,
                                  const std::string& host, std::uint16_t port, error_code& ec,
                                  std::string& why) {
  if (proxy.scheme == "socks5h")
    co_await socks5_connect(stream, proxy, host, port, ec, why);
  else
    co_await http_connect(stream, proxy, host, port, ec, why);
}

}  // namespace relay::upstream
