#include "docker_envs/conda/repodata.hpp"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <thread>

#include "docker_envs/base/io.hpp"

namespace de::conda {

namespace od = simdjson::ondemand;

namespace {

constexpr std::size_t kMaxSkipReasons = 10;

// Why a record was rejected; empty when it is fine.
using Problem = std::string;

// Hex digits -> bytes through a table (hashes are a large share of repodata's bytes). Digest's
// hex is lowercase only; md5 accepts either case (Md5Hash::from_hex's rules).
template <std::size_t N>
bool decode_hex(std::string_view hex, std::array<std::uint8_t, N>& out, bool upper_ok) {
  static constexpr auto kTable = [] {
    std::array<std::array<std::uint8_t, 256>, 2> t{};
    for (auto& row : t) row.fill(0xff);
    for (int c = 0; c < 10; ++c) t[0]['0' + c] = t[1]['0' + c] = static_cast<std::uint8_t>(c);
    for (int c = 0; c < 6; ++c) {
      t[0]['a' + c] = t[1]['a' + c] = static_cast<std::uint8_t>(10 + c);
      t[1]['A' + c] = static_cast<std::uint8_t>(10 + c);
    }
    return t;
  }();
  if (hex.size() != 2 * N) return false;
  const auto& table = kTable[upper_ok ? 1 : 0];
  std::uint8_t bad = 0;
  for (std::size_t i = 0; i < N; ++i) {
    std::uint8_t hi = table[static_cast<unsigned char>(hex[2 * i])];
    std::uint8_t lo = table[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= hi | lo;
    out[i] = static_cast<std::uint8_t>(hi << 4 | (lo & 0xf));
  }
  return (bad & 0xf0) == 0;
}

Problem read_string(od::value value, std::string& out, std::string_view key) {
  std::string_view s;
  if (value.get_string().get(s)) return fmt::format("'{}' must be a string", key);
  out.assign(s);
  return {};
}

Problem read_string_list(od::value value, std::vector<std::string>& out, std::string_view key) {
  od::array array;
  if (value.get_array().get(array)) return fmt::format("'{}' must be a list of strings", key);
  for (auto item : array) {
    std::string_view s;
    if (item.get_string().get(s)) return fmt::format("'{}' must be a list of strings", key);
    out.emplace_back(s);
  }
  return {};
}

Problem read_int(od::value value, std::int64_t& out, std::string_view key) {
  od::number_type type;
  if (value.get_number_type().get(type)) return fmt::format("'{}' must be a number", key);
  if (type == od::number_type::floating_point_number) {
    double d;
    if (value.get_double().get(d)) return fmt::format("'{}' must be a number", key);
    // Converting a double outside the int64 range (or NaN) is undefined behaviour: refuse it.
    // -2^63 is exact in a double; 2^63 is the first value that does not fit.
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
      return fmt::format("'{}' is out of range", key);
    out = static_cast<std::int64_t>(d);
    return {};
  }
  if (value.get_int64().get(out)) return fmt::format("'{}' must be an integer", key);
  return {};
}

// Parses one record object into `r`. Returns the first problem found (the rest of the object is
// skipped by the iterator), or "" on success.
Problem parse_record(od::object object, PackageRecord& r) {
  Problem problem;
  for (auto field : object) {
    od::raw_json_string key;
    if (field.key().get(key)) return "unreadable key";
    od::value value;
    if (field.value().get(value)) return "unreadable value";
    bool is_null = false;
    if (value.is_null().get(is_null)) return "unreadable value";
    if (is_null) continue;
    const char* raw = key.raw();
    Problem p;
    switch (raw[0]) {
      case 'n':
        if (key.unsafe_is_equal("name")) {
          p = read_string(value, r.name, "name");
        } else if (key.unsafe_is_equal("noarch")) {
          od::json_type type;
          if (value.type().get(type)) return "unreadable noarch";
          if (type == od::json_type::boolean) {
            bool b = false;
            if (value.get_bool().get(b)) return "'noarch' must be a string";
            r.noarch = b ? NoarchKind::Generic : NoarchKind::None;
          } else {
            std::string_view s;
            if (value.get_string().get(s)) return "'noarch' must be a string";
            auto kind = parse_noarch(s);
            if (!kind) return kind.error().message();
            r.noarch = *kind;
          }
        }
        break;
      case 'v':
        if (key.unsafe_is_equal("version")) p = read_string(value, r.version, "version");
        break;
      case 'b':
        if (key.unsafe_is_equal("build")) {
          p = read_string(value, r.build, "build");
        } else if (key.unsafe_is_equal("build_number")) {
          p = read_int(value, r.build_number, "build_number");
        }
        break;
      case 'd':
        if (key.unsafe_is_equal("depends")) p = read_string_list(value, r.depends, "depends");
        break;
      case 'c':
        if (key.unsafe_is_equal("constrains")) {
          p = read_string_list(value, r.constrains, "constrains");
        } else if (key.unsafe_is_equal("channel")) {
          p = read_string(value, r.channel, "channel");
        }
        break;
      case 's':
        if (key.unsafe_is_equal("subdir")) {
          p = read_string(value, r.subdir, "subdir");
        } else if (key.unsafe_is_equal("sha256")) {
          std::string_view s;
          if (value.get_string().get(s)) return "'sha256' must be a string";
          Digest::Bytes bytes;
          if (!decode_hex(s, bytes, false)) return fmt::format("bad sha256 '{}'", s);
          r.sha256 = Digest(bytes);
        } else if (key.unsafe_is_equal("size")) {
          std::uint64_t size = 0;
          if (value.get_uint64().get(size)) return "'size' must be a non-negative integer";
          r.size = size;
        }
        break;
      case 'm':
        if (key.unsafe_is_equal("md5")) {
          std::string_view s;
          if (value.get_string().get(s)) return "'md5' must be a string";
          Md5Hash::Bytes bytes;
          if (!decode_hex(s, bytes, true)) return fmt::format("bad md5 '{}'", s);
          r.md5 = Md5Hash(bytes);
        }
        break;
      case 'u':
        if (key.unsafe_is_equal("url")) p = read_string(value, r.url, "url");
        break;
      case 't':
        if (key.unsafe_is_equal("timestamp")) {
          std::int64_t ts = 0;
          p = read_int(value, ts, "timestamp");
          r.timestamp = ts;
        } else if (key.unsafe_is_equal("track_features")) {
          od::json_type type;
          if (value.type().get(type)) return "unreadable track_features";
          if (type == od::json_type::array) {
            std::vector<std::string> features;
            p = read_string_list(value, features, "track_features");
            for (auto& f : features) r.track_features += (r.track_features.empty() ? "" : " ") + f;
          } else {
            p = read_string(value, r.track_features, "track_features");
          }
        }
        break;
      case 'l':
        if (key.unsafe_is_equal("license")) p = read_string(value, r.license, "license");
        break;
      case 'p':
        if (key.unsafe_is_equal("python_site_packages_path"))
          p = read_string(value, r.python_site_packages_path, "python_site_packages_path");
        break;
      default:
        break;
    }
    if (!p.empty()) return p;
  }
  if (r.name.empty()) return "no name";
  if (r.version.empty()) return "no version";
  if (r.build.empty()) return "no build string";
  return {};
}

struct Parser {
  const RepodataOptions& options;
  Repodata& out;
  std::string base_url_text;
  bool has_base_url = false;

  void skip(std::string_view section, std::string_view fn, std::string_view why) {
    ++out.skipped;
    if (out.skip_reasons.size() < kMaxSkipReasons)
      out.skip_reasons.push_back(fmt::format("{}/{}: {}", section, fn, why));
  }

  // A record found by the first pass: its file name and JSON text, parsed later (on several
  // threads). Small, so that the sequential first pass only notes where things are.
  struct Pending {
    std::string_view fn;   // into the document, or into `owned_keys` when the key had escapes
    std::string_view raw;  // the record's JSON object
    std::string_view section;
    Problem problem;  // set when the first pass already knows the record is bad
    // Twin: a .tar.bz2 with a .conda of the same stem (conda_twins[twin_begin, twin_end) are
    // indices of those .conda records); Superseded: dropped for it.
    enum : std::uint8_t { Parse, Twin, Superseded } state = Parse;
    std::uint32_t slot = 0;  // index in out.records when state == Parse
    std::uint32_t twin_begin = 0, twin_end = 0;
  };
  std::vector<Pending> pending;
  std::deque<std::string> owned_keys;  // unescaped keys (rare); a deque never moves its strings

  static std::string_view section_name(std::string_view key) {
    if (key == "packages") return "packages";
    if (key == "packages.conda") return "packages.conda";
    return "";
  }

  // Takes note of one `fn: {record}` member. Errors of the JSON structure itself are returned
  // (fatal); malformed records are counted when the records are parsed.
  simdjson::error_code member(std::string_view section, std::string_view fn, od::value value) {
    od::object object;
    if (auto e = value.get_object().get(object)) {
      if (e != simdjson::INCORRECT_TYPE) return e;
      note_twin_candidate(fn, false);
      pending.push_back({fn, {}, section, "not an object"});
      return simdjson::SUCCESS;
    }
    std::string_view raw;
    if (auto e = object.raw_json().get(raw)) return e;
    note_twin_candidate(fn, true);
    pending.push_back({fn, raw, section, {}});
    return simdjson::SUCCESS;
  }

  // .conda records (that may parse) and .tar.bz2 records, in document order, for mark_twins; and
  // whether each list is in order of stems. Noted by the first pass while the key is in cache.
  struct Candidate {
    std::string_view stem;
    std::uint32_t index;
  };
  std::vector<Candidate> conda_twins, bz2;
  bool conda_sorted = true, bz2_sorted = true;

  void note_twin_candidate(std::string_view fn, bool may_parse) {
    if (options.keep_tar_bz2_duplicates) return;
    auto index = static_cast<std::uint32_t>(pending.size());
    if (fn.ends_with(".conda")) {
      if (!may_parse) return;
      std::string_view stem = fn.substr(0, fn.size() - 6);
      conda_sorted = conda_sorted && (conda_twins.empty() || !(stem < conda_twins.back().stem));
      conda_twins.push_back({stem, index});
    } else if (fn.ends_with(".tar.bz2")) {
      std::string_view stem = fn.substr(0, fn.size() - 8);
      bz2_sorted = bz2_sorted && (bz2.empty() || !(stem < bz2.back().stem));
      bz2.push_back({stem, index});
    }
  }

  // Marks every .tar.bz2 record that has a .conda twin (same stem, no problem found so far) as
  // Twin, remembering which .conda records are its twins. Sorting both lists by stem and merging
  // them is cheaper than a hash set of a few hundred thousand stems, and needs no sorting at all
  // for conda-forge's documents, whose keys are already in order.
  void mark_twins() {
    if (conda_twins.empty() || bz2.empty()) return;
    auto by_stem = [](const Candidate& a, const Candidate& b) { return a.stem < b.stem; };
    if (!conda_sorted) std::stable_sort(conda_twins.begin(), conda_twins.end(), by_stem);
    if (!bz2_sorted) std::stable_sort(bz2.begin(), bz2.end(), by_stem);
    std::size_t c = 0;
    for (const auto& [s, i] : bz2) {
      while (c < conda_twins.size() && conda_twins[c].stem < s) ++c;
      std::size_t e = c;
      while (e < conda_twins.size() && conda_twins[e].stem == s) ++e;
      if (e == c) continue;
      pending[i].state = Pending::Twin;
      pending[i].twin_begin = static_cast<std::uint32_t>(c);
      pending[i].twin_end = static_cast<std::uint32_t>(e);
    }
  }

  // Parses one pending record (the first pass skipped over it, checking only its brackets) as its
  // own small document. `end` is the end of the padded buffer the records lie in.
  void parse_one(od::parser& parser, Pending& item, PackageRecord& r, const char* end) {
    r.fn.assign(item.fn);  // the map key is the file name, whatever the record says
    if (!item.problem.empty()) return;
    od::document doc;
    od::object object;
    if (parser
            .iterate(item.raw.data(), item.raw.size(),
                     static_cast<std::size_t>(end - item.raw.data()))
            .get(doc) ||
        doc.get_object().get(object)) {
      item.problem = "not valid JSON";
      return;
    }
    item.problem = parse_record(object, r);
    if (!item.problem.empty()) return;
    if (!options.channel.empty() && r.channel.empty()) r.channel = options.channel;
    if (r.subdir.empty()) r.subdir = out.subdir;
  }

  // Parses every pending record into out.records, on `threads` threads, in document order. Then
  // drops the bad ones, counting them in order.
  void parse_records(const char* end, unsigned threads) {
    auto& records = out.records;
    const std::size_t n = pending.size();
    // A .tar.bz2 whose .conda twin parses is dropped unparsed (a quarter of conda-forge).
    if (!options.keep_tar_bz2_duplicates) mark_twins();
    std::size_t slots = 0;
    for (auto& item : pending)
      if (item.state == Pending::Parse) item.slot = static_cast<std::uint32_t>(slots++);
    constexpr std::size_t kChunk = 512;
    threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(n / kChunk + 1)));
    // The records take ~470 bytes each, a hundred megabytes for conda-forge: faulting their fresh
    // pages in is most of the cost of constructing them. Touch the raw storage on every thread
    // first, so that the construction below finds the pages there.
    records.reserve(slots);
    if (threads > 1 && records.capacity() > records.size()) {
      auto* base = reinterpret_cast<unsigned char*>(records.data() + records.size());
      std::size_t bytes = (records.capacity() - records.size()) * sizeof(PackageRecord);
      std::size_t part = bytes / threads;
      std::vector<std::jthread> pool;
      for (unsigned t = 1; t < threads; ++t)
        pool.emplace_back([=] {
          std::memset(base + t * part, 0, t + 1 == threads ? bytes - t * part : part);
        });
      std::memset(base, 0, part);
    }
    records.resize(slots);
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      od::parser parser;
      for (std::size_t begin = next.fetch_add(kChunk); begin < n; begin = next.fetch_add(kChunk)) {
        for (std::size_t i = begin; i < std::min(n, begin + kChunk); ++i)
          if (pending[i].state == Pending::Parse)
            parse_one(parser, pending[i], records[pending[i].slot], end);
      }
    };
    {
      std::vector<std::jthread> pool;
      for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
      worker();
    }
    // A twin is superseded when one of its .conda twins parsed; else (rare) it is parsed now.
    std::vector<std::pair<std::size_t, PackageRecord>> rescued;
    {
      od::parser parser;
      for (std::size_t i = 0; i < n; ++i) {
        auto& item = pending[i];
        if (item.state != Pending::Twin) continue;
        bool twin_parsed = false;
        for (std::uint32_t t = item.twin_begin; t < item.twin_end && !twin_parsed; ++t)
          twin_parsed = pending[conda_twins[t].index].problem.empty();
        if (twin_parsed) {
          item.state = Pending::Superseded;
          ++out.superseded_tar_bz2;
        } else {
          rescued.emplace_back(i, PackageRecord{});
          parse_one(parser, item, rescued.back().second, end);
        }
      }
    }
    // Drop the bad records (counting them in document order) and put the rescued twins in place.
    std::vector<PackageRecord> merged;
    if (!rescued.empty()) merged.reserve(records.size() + rescued.size());
    auto next_rescued = rescued.begin();
    std::size_t kept = 0;
    for (std::size_t i = 0; i < n; ++i) {
      auto& item = pending[i];
      if (item.state == Pending::Superseded) continue;
      PackageRecord& r =
          item.state == Pending::Parse ? records[item.slot] : (next_rescued++)->second;
      if (!item.problem.empty()) {
        skip(item.section, item.fn, item.problem);
        continue;
      }
      if (!rescued.empty()) {
        merged.push_back(std::move(r));
      } else {
        if (kept != item.slot) records[kept] = std::move(r);
        ++kept;
      }
    }
    if (!rescued.empty()) {
      records = std::move(merged);
    } else {
      records.erase(records.begin() + static_cast<std::ptrdiff_t>(kept), records.end());
    }
    pending.clear();
  }

  // A member's key, unescaped: a view into the document (keys seldom have escapes), else a copy.
  simdjson::error_code key_of(od::field& field, std::string_view& key) {
    const char* begin = field.key().raw();
    const char* p = begin;
    bool escaped = false;
    for (; *p != '"'; ++p) {
      if (*p == '\\') {
        escaped = true;
        ++p;  // the escaped character, which may be a quote
      }
    }
    if (!escaped) {
      key = std::string_view(begin, static_cast<std::size_t>(p - begin));
      return simdjson::SUCCESS;
    }
    std::string_view unescaped;
    if (auto e = field.unescaped_key().get(unescaped)) return e;
    key = owned_keys.emplace_back(unescaped);
    return simdjson::SUCCESS;
  }

  simdjson::error_code section(std::string_view name, od::value value) {
    od::object object;
    if (auto e = value.get_object().get(object)) return e;
    for (auto field_result : object) {
      od::field field;
      if (auto e = std::move(field_result).get(field)) return e;
      std::string_view fn;
      if (auto e = key_of(field, fn)) return e;
      if (auto e = member(name, fn, field.value())) return e;
    }
    return simdjson::SUCCESS;
  }

  simdjson::error_code info(od::value value) {
    od::object object;
    if (value.get_object().get(object)) return simdjson::SUCCESS;  // tolerate a non-object info
    for (auto field : object) {
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return e;
      if (key == "subdir") {
        std::string_view s;
        if (!field.value().get_string().get(s)) out.subdir.assign(s);
      } else if (key == "base_url") {
        std::string_view s;
        if (!field.value().get_string().get(s)) {
          base_url_text.assign(s);
          has_base_url = true;
        }
      }
    }
    return simdjson::SUCCESS;
  }

  simdjson::error_code document(od::document& doc) {
    od::object root;
    if (auto e = doc.get_object().get(root)) return e;
    for (auto field : root) {
      std::string_view key;
      if (auto e = field.unescaped_key().get(key)) return e;
      if (key == "packages" || key == "packages.conda") {
        std::string_view name = section_name(key);
        od::value value;
        if (auto e = field.value().get(value)) return e;
        if (auto e = section(name, value)) return e;
      } else if (key == "info") {
        od::value value;
        if (auto e = field.value().get(value)) return e;
        if (auto e = info(value)) return e;
      } else if (key == "removed") {
        od::array array;
        if (field.value().get_array().get(array)) continue;
        for (auto item : array) {
          std::string_view s;
          if (!item.get_string().get(s)) out.removed.emplace_back(s);
        }
      } else if (key == "repodata_version") {
        std::int64_t v = 1;
        if (!field.value().get_int64().get(v)) out.repodata_version = static_cast<int>(v);
      } else if (key.ends_with(".tar.bz2") || key.ends_with(".conda")) {
        // Legacy flat index: file name -> record at the top level.
        std::string_view fn = owned_keys.emplace_back(key);
        od::value value;
        if (auto e = field.value().get(value)) return e;
        od::json_type type;
        if (auto e = value.type().get(type)) return e;
        if (type == od::json_type::object) {
          if (auto e = member("", fn, value)) return e;
        }
      }
    }
    return simdjson::SUCCESS;
  }
};

void finish(Repodata& repodata, const RepodataOptions& options, const Parser& parser) {
  std::string dir = options.subdir_url;
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  repodata.base_url = parser.has_base_url ? resolve_url(dir, parser.base_url_text) : dir;

  // Records without a subdir got info.subdir, and .tar.bz2 records superseded by their .conda
  // twin were dropped, in Parser::parse_records.
}

Result<Repodata> parse_padded(simdjson::padded_string_view json, const RepodataOptions& options,
                              std::string_view what) {
  od::parser parser;
  od::document doc;
  if (auto e = parser.iterate(json).get(doc))
    return fail(Code::Corruption, "{}: not valid JSON: {}", what, simdjson::error_message(e));
  Repodata repodata;
  Parser p{.options = options, .out = repodata};
  // conda-forge records average ~700 bytes of JSON; one reservation avoids regrowing a vector of
  // hundreds of thousands of entries.
  p.pending.reserve(json.length() / 600 + 16);
  if (auto e = p.document(doc))
    return fail(Code::Corruption, "{}: not valid repodata JSON: {}", what,
                simdjson::error_message(e));
  // The first pass only found the records; building them is most of the work, and independent.
  p.parse_records(json.data() + json.capacity(),
                  std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  finish(repodata, options, p);
  return repodata;
}

}  // namespace

Result<Repodata> Repodata::parse(std::string_view json, const RepodataOptions& options,
                                 std::string_view what) {
  simdjson::padded_string padded(json);
  return parse_padded(padded, options, what);
}

Result<Repodata> Repodata::load(const std::filesystem::path& path, const RepodataOptions& options) {
  // The file is mapped rather than read into a buffer: that saves copying it and faulting in as
  // many fresh pages (a tenth of the parse time for a 250 MB document). simdjson reads up to
  // SIMDJSON_PADDING bytes past the end: the mapping is placed in an anonymous one that long (the
  // tail of the file's last page, and any page after it, read as zeros). The channel cache
  // replaces files by renaming, so a mapped file is never truncated under us.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail(Code::NotFound, "reading {}: no such file", path.string());
    return fail_errno("reading " + path.string(), errno);
  }
  struct stat st {};
  void* map = MAP_FAILED;
  std::size_t size = 0, map_size = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    size = static_cast<std::size_t>(st.st_size);
    auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    map_size = (size + simdjson::SIMDJSON_PADDING + page - 1) / page * page;
    map = ::mmap(nullptr, map_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map != MAP_FAILED && size > 0 &&
        ::mmap(map, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
      ::munmap(map, map_size);
      map = MAP_FAILED;
    }
  }
  ::close(fd);
  if (map != MAP_FAILED) {
    // Map the page-cached pages in on another core while the first pass starts reading them
    // (an older kernel without MADV_POPULATE_READ faults them in as they are read).
    std::jthread populate;
    if (size > (4u << 20))  // not worth a thread for a small file
      populate = std::jthread([=] { ::madvise(map, size, MADV_POPULATE_READ); });
    auto result = parse_padded(
        simdjson::padded_string_view(static_cast<const char*>(map), size, map_size), options,
        path.string());
    if (populate.joinable()) populate.join();  // long done: before unmapping its range
    ::munmap(map, map_size);  // records own their strings: nothing points into the mapping
    return result;
  }
  // Not a regular file, or no mapping: let simdjson read it.
  simdjson::padded_string padded;
  if (auto e = simdjson::padded_string::load(path.string()).get(padded))
    return fail(Code::Io, "reading {}: {}", path.string(), simdjson::error_message(e));
  return parse_padded(padded, options, path.string());
}

std::string Repodata::url_for(const PackageRecord& record) const {
  if (!record.url.empty()) return record.url;
  if (base_url.empty()) return record.fn;
  return base_url + "/" + record.fn;
}

std::string resolve_url(std::string_view base, std::string_view reference) {
  auto strip = [](std::string s) {
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  };
  if (reference.find("://") != std::string_view::npos) return strip(std::string(reference));
  std::string b(base);
  while (!b.empty() && b.back() == '/') b.pop_back();
  if (reference.starts_with("/")) {
    // Absolute path: keep scheme://host of the base.
    auto scheme = b.find("://");
    auto host_end = scheme == std::string::npos ? 0 : b.find('/', scheme + 3);
    std::string origin = host_end == std::string::npos ? b : b.substr(0, host_end);
    return strip(origin + std::string(reference));
  }
  auto scheme = b.find("://");
  std::size_t floor = scheme == std::string::npos ? 0 : b.find('/', scheme + 3);
  if (floor == std::string::npos) floor = b.size();
  std::string_view rest = reference;
  while (!rest.empty()) {
    auto slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      auto cut = b.rfind('/');
      if (cut != std::string::npos && cut >= floor) b.resize(cut);
      continue;
    }
    b += "/";
    b += part;
  }
  return strip(b);
}

}  // namespace de::conda
