// A wheel's RECORD (the binary distribution format spec, "The .dist-info directory"): one CSV row
// per file, `path,hash,size`, where hash is `<algorithm>=<urlsafe base64 digest without padding>`.
// The CSV is what Python's csv module reads and writes: a field that holds a comma, a quote or a
// line break is quoted with '"', and a quote inside it is doubled.
//
// Pure functions over text; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "docker_envs/base/digest.hpp"
#include "docker_envs/base/error.hpp"

namespace de::pypi::detail {

struct RecordRow {
  std::string path;                    // as written (a path relative to the wheel's root)
  std::string hash;                    // "sha256=..." or "" (RECORD itself, signatures)
  std::optional<std::uint64_t> size;   // unset when the field is empty
  int line = 0;                        // 1-based, for messages
  friend bool operator==(const RecordRow&, const RecordRow&) = default;
};

// Parses RECORD. Corruption, naming `what` and the line, for a row that is not 1 to 3 fields, an
// unterminated quote or a size that is not a number. Empty lines are skipped.
Result<std::vector<RecordRow>> parse_record(std::string_view text, std::string_view what);

// "sha256=<urlsafe b64 nopad>" -> the digest. Unsupported for another algorithm (the spec allows
// sha384 or stronger, which no wheel tool writes), Corruption for a malformed digest.
Result<Digest> parse_record_hash(std::string_view hash);

// The RECORD hash field of `digest`: "sha256=<urlsafe b64 nopad>".
std::string record_hash(const Digest& digest);

// RECORD text: the rows sorted by path (as pip writes them), each `path,hash,size\n`, fields
// quoted where CSV needs it.
std::string format_record(std::vector<RecordRow> rows);

}  // namespace de::pypi::detail
