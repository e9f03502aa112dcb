#pragma once
// ASCII case-insensitive matching for HTTP header names and values, shared by the two tools.
#include <cstddef>
#include <string_view>

inline char lower(char ch) {
  return ch >= 'A' && ch <= 'Z' ? char(ch + 32) : ch;
}

inline bool iequals(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower_b[i]) return false;
  return true;
}

inline bool icontains(std::string_view s, std::string_view lower_needle) {
  for (size_t i = 0; i + lower_needle.size() <= s.size(); ++i)
    if (iequals(s.substr(i, lower_needle.size()), lower_needle)) return true;
  return false;
}
