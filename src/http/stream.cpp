#include "http/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace relay::http {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

// The ssl::stream borrows the socket, so deadlines and the disconnect watch work on the same
// socket for both kinds of connection.
struct Stream::Tls {
  Tls(asio::ip::tcp::socket& socket, std::shared_ptr<ssl::context> ctx)
      : context(std::move(ctx)), stream(socket, *context) {}
  std::shared_ptr<ssl::context> context;
  ssl::stream<asio::ip::tcp::socket&> stream;
};

Stream::Stream(asio::ip::tcp::socket socket, std::shared_ptr<ssl::context> context)
    : socket_(std::move(socket)) {
  if (context) tls_ = std::make_unique<Tls>(socket_, std::move(context));
}

Stream::~Stream() = default;

asio::awaitable<boost::system::error_code> Stream::handshake() {
  if (!tls_) co_return boost::system::error_code{};
  auto [ec] = co_await tls_->stream.async_handshake(ssl::stream_base::server,
                                                    asio::as_tuple(asio::use_awaitable));
  co_return ec;
}

std::string_view Stream::alpn() const {
  if (!tls_) return {};
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(
      const_cast<ssl::stream<asio::ip::tcp::socket&>&>(tls_->stream).native_handle(), &data, &len);
  return {reinterpret_cast<const char*>(data), len};
}

void Stream::tls_read(asio::mutable_buffer buffer, IoHandler handler) {
  tls_->stream.async_read_some(buffer, std::move(handler));
}

void Stream::tls_write(const BufferList& buffers, IoHandler handler) {
  tls_->stream.async_write_some(buffers, std::move(handler));
}

}  // namespace relay::http
