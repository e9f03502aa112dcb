#pragma once
// A tunnel through an egress proxy to the provider's host:port, over a stream already connected
// to the proxy (and, for an https egress, already TLS to it): HTTP CONNECT, or SOCKS5 with the
// name resolved by the proxy (socks5h). After it, the stream carries the provider's bytes; the
// proxy only ever sees host:port, never a request line, a header or a body.
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "egress/proxy_url.hpp"
#include "upstream/byte_stream.hpp"

namespace relay::upstream {

// `why` says what went wrong (the proxy's status, SOCKS5's reason); it names the proxy by
// host:port and never carries its credentials.
boost::asio::awaitable<void> open_tunnel(ByteStream& stream, const egress::ProxyUrl& proxy,
                                         const std::string& host, std::uint16_t port,
                                         boost::system::error_code& ec, std::string& why);

}  // namespace relay::upstream
