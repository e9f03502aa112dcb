#pragma once
// Phase 2, identify: who is calling. Reads the relay key from `Authorization: Bearer` or
// `X-API-Key`, looks its hash up in the snapshot, and checks expiry, revocation and tenant state.
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.hpp"
#include "store/snapshot.hpp"

namespace relay {

// kMalformed: refused without a lookup (a failed checksum, or, from an address over the invalid-key
// limit, a key shaped like nothing the relay issues).
enum class IdentifyFailure {
  kNone,
  kMissing,
  kMalformed,
  kUnknown,
  kRevoked,
  kExpired,
  kTenantDisabled
};

struct Identity {
  const store::SnapshotKey* key = nullptr;  // points into the request's snapshot
  IdentifyFailure failure = IdentifyFailure::kNone;
  bool ok() const { return key != nullptr; }
};

// The raw key as presented, or empty. Never log the result.
std::string_view presented_key(const http::Headers& headers);

// `address_over_limit`: the caller's address is over the invalid-key limit
// (limits/auth_failure_limiter.hpp). Keys shaped like relay keys are still looked up, so a valid
// key behind a shared address keeps working; nothing else is.
Identity identify(const store::Snapshot& snapshot, const http::Headers& headers,
                  std::int64_t now_unix, bool address_over_limit = false);

std::string_view to_string(IdentifyFailure f);

// `x-request-id` from the client when it is short and plain, else a new random id.
std::string request_id_for(const http::Headers& headers);

}  // namespace relay
