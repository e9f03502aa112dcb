#pragma once
// `egress verify`: asks an echo service, through each egress, which address it sees, so an
// operator can check that every egress leaves from where it should and that no two accounts
// share an outgoing IP. Synchronous libcurl easy transfers: the CLI has no event loop.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/snapshot.hpp"

namespace relay::app::egress_verify {

// Answers with the caller's address as plain text (also JSON with "ip" via ?format=json).
inline constexpr std::string_view kDefaultEchoUrl = "https://api.ipify.org";

struct Options {
  std::string echo_url = std::string(kDefaultEchoUrl);
  long timeout_ms = 10'000;  // the whole transfer, connect included
  std::string ca_file;       // trust for the echo URL; "" = system trust
};

struct ProbeResult {
  std::string ip;     // canonical text; set on success
  std::string error;  // set on failure; never contains the proxy's password
};

// One GET of the echo URL through the egress, never directly and never through a proxy from
// the environment.
ProbeResult probe(const store::SnapshotEgress& egress, const Options& options);

// The address in an echo reply: a bare IP (surrounding whitespace allowed) or a JSON object
// with an "ip" string. nullopt unless it is a valid IPv4 or IPv6 address.
std::optional<std::string> parse_ip(std::string_view body);

struct Observation {
  std::string egress;
  std::string account;
  std::string ip;
};

// "CONFLICT: 127.0.0.2 seen for accounts a (egress e1) and b (egress e3)", one line for every
// pair of accounts that share an observed IP (the first egress of each account that saw it).
std::vector<std::string> conflicts(const std::vector<Observation>& seen);

}  // namespace relay::app::egress_verify
