#pragma once
// What listings may show of an account credential (or any secret): enough to tell two apart and
// to match one against the provider's dashboard, never enough to matter.
#include <string>
#include <string_view>

namespace relay::crypto {

// "…" and the last 4 characters, e.g. "…Xy9z". Empty for a secret shorter than 12 characters
// (4 of them would be a large part of it) or whose last 4 bytes are not printable ASCII (part
// of a multi-byte character would be shown, and it would not identify anything).
std::string credential_hint(std::string_view secret);

}  // namespace relay::crypto
