#pragma once
// The master key file as `master-key rotate` replaces it: written whole to a side file first,
// then renamed over the old one, each step flushed to disk, so that a crash leaves either file
// complete (docs/operations.md#master-key-rotation). No message here holds key material.
#include <string>
#include <string_view>

#include "crypto/secret_box.hpp"

namespace relay::crypto {

// key_file_or_empty, else <data_dir>/master.key (as load_master_key picks it).
std::string master_key_path(const std::string& data_dir, const std::string& key_file_or_empty);

// The text of the key file at `path`, which must be a regular file not readable by group or
// others. Throws std::runtime_error. The caller wipes the result.
std::string read_key_file_text(const std::string& path);

// The key in the file at `path` (as above), which must hold 64 hex characters or the base64 of
// 32 bytes. Throws std::runtime_error.
SecretBox read_master_key_file(const std::string& path);

// The key in `text` (as above); `source` names it in the error.
SecretBox master_key_from_text(std::string_view text, std::string_view source);

// 32 random bytes as 64 lowercase hex characters and a newline: a key file's contents.
std::string generate_master_key_text();

// Creates `path` (which must not exist) with mode 0600 holding `text`, and flushes it and its
// directory to disk. Throws std::runtime_error.
void write_key_file_exclusive(const std::string& path, std::string_view text);

// Renames `from` over `to` and flushes the directory: once this returns, the new name survives
// a crash. Throws std::runtime_error.
void rename_key_file(const std::string& from, const std::string& to);

}  // namespace relay::crypto
