// Parsing a repodata document: a first pass on one thread notes where each record is, then the
// records are parsed (repodata.cpp's parse_record) on several threads, .tar.bz2 records with a
// .conda twin dropped. Repodata::load maps the file instead of reading it.

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <deque>

#include "conda/repodata_record.hpp"
#include "docker_envs/base/io.hpp"
#include "docker_envs/base/os.hpp"
#include "docker_envs/base/parallel.hpp"

namespace de::conda {

namespace od = simdjson::ondemand;

namespace {

constexpr std::size_t kMaxSkipReasons = 10;

using detail::Problem;

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
    item.problem = detail::parse_record(object, r);
    if (!item.problem.empty()) return;
    if (!options.channel.empty() && r.channel.empty()) r.channel = options.channel;
    if (r.subdir.empty()) r.subdir = out.subdir;
  }

  // Parses every pending record into out.records, on `threads` threads, in document order. Then
  // drops the bad ones, counting them in order. Fails only when a thread could not do its work (a
  // bad record is not an error).
  Status parse_records(const char* end, unsigned threads) {
    auto& records = out.records;
    const std::size_t n = pending.size();
    // A .tar.bz2 whose .conda twin parses is dropped unparsed (a quarter of conda-forge).
    if (!options.keep_tar_bz2_duplicates) mark_twins();
    std::size_t slots = 0;
    for (auto& item : pending)
      if (item.state == Pending::Parse) item.slot = static_cast<std::uint32_t>(slots++);
    constexpr std::size_t kChunk = 512;
    const std::size_t chunks = (n + kChunk - 1) / kChunk;
    threads = thread_count(threads, chunks);
    // The records take ~470 bytes each, a hundred megabytes for conda-forge: faulting their fresh
    // pages in is most of the cost of constructing them. Touch the raw storage on every thread
    // first, so that the construction below finds the pages there.
    records.reserve(slots);
    if (threads > 1 && records.capacity() > records.size()) {
      auto* base = reinterpret_cast<unsigned char*>(records.data() + records.size());
      std::size_t bytes = (records.capacity() - records.size()) * sizeof(PackageRecord);
      std::size_t part = bytes / threads;
      DE_TRY(parallel_for(threads, threads, [=](std::size_t t) -> Status {
        std::memset(base + t * part, 0, t + 1 == threads ? bytes - t * part : part);
        return {};
      }));
    }
    records.resize(slots);
    // Chunks of records, each worker with its own parser; a bad record is noted in its Pending.
    DE_TRY(parallel_for_each_worker(
        chunks, threads, [](unsigned) { return od::parser(); },
        [&](od::parser& parser, std::size_t chunk) -> Status {
          for (std::size_t i = chunk * kChunk; i < std::min(n, (chunk + 1) * kChunk); ++i)
            if (pending[i].state == Pending::Parse)
              parse_one(parser, pending[i], records[pending[i].slot], end);
          return {};
        }));
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
    return {};
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
  DE_TRY_CTX(p.parse_records(json.data() + json.capacity(), 0), std::string(what));
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
  auto mapping = Mapping::open(path, {.padding = simdjson::SIMDJSON_PADDING});
  if (!mapping && mapping.error().code() == Code::NotFound)
    return fail(Code::NotFound, "reading {}: no such file", path.string());
  if (mapping) {
    // Map the page-cached pages in on another core while the first pass starts reading them
    // (not worth a thread for a small file). Records own their strings: nothing points into the
    // mapping once it is unmapped.
    if (mapping->size() > (4u << 20)) mapping->populate_in_background();
    return parse_padded(
        simdjson::padded_string_view(mapping->data(), mapping->size(), mapping->capacity()),
        options, path.string());
  }
  // Not a regular file, or no mapping: let simdjson read it.
  simdjson::padded_string padded;
  if (auto e = simdjson::padded_string::load(path.string()).get(padded))
    return fail(Code::Io, "reading {}: {}", path.string(), simdjson::error_message(e));
  return parse_padded(padded, options, path.string());
}

}  // namespace de::conda
