// Prefix replacement: the placeholder a package was built with, replaced by the install prefix.

#include <cstring>

#include "conda/installer_internal.hpp"
#include "docker_envs/conda/installer.hpp"

namespace de::conda {

namespace fs = std::filesystem;

Result<std::string> replace_prefix(std::string_view data, std::string_view placeholder,
                                   std::string_view prefix, PlaceholderMode mode,
                                   std::string_view what) {
  if (placeholder.empty()) return std::string(data);
  std::string out;
  out.reserve(data.size());
  if (mode == PlaceholderMode::Text) {
    std::size_t pos = 0;
    for (auto hit = data.find(placeholder); hit != std::string_view::npos;
         hit = data.find(placeholder, pos)) {
      out.append(data.substr(pos, hit - pos));
      out.append(prefix);
      pos = hit + placeholder.size();
    }
    out.append(data.substr(pos));
    return out;
  }
  if (prefix.size() > placeholder.size())
    return fail(
        Code::InvalidArgument,
        "{}: the prefix '{}' ({} bytes) is longer than the binary placeholder ({} bytes); choose a "
        "shorter prefix",
        what, prefix, prefix.size(), placeholder.size());
  std::size_t pos = 0;
  for (auto hit = data.find(placeholder); hit != std::string_view::npos;
       hit = data.find(placeholder, pos)) {
    out.append(data.substr(pos, hit - pos));
    auto end = data.find('\0', hit);
    if (end == std::string_view::npos) end = data.size();
    std::string_view cstr = data.substr(hit, end - hit);
    auto replaced = DE_TRY(replace_prefix(cstr, placeholder, prefix, PlaceholderMode::Text, what));
    out.append(replaced);
    out.append(cstr.size() - replaced.size(), '\0');
    pos = end;
  }
  out.append(data.substr(pos));
  return out;
}

namespace detail {
namespace {

// The source is copied up to the next placeholder; at a placeholder, its replacement (the prefix,
// or in binary mode the whole C string it starts, rewritten and padded) is produced into
// `pending_` and copied out from there. The same searches as replace_prefix, in the same order.
class PrefixReplacingReader final : public Reader {
 public:
  PrefixReplacingReader(std::optional<Mapping> keep, std::string_view data, std::string placeholder,
                        std::string prefix, PlaceholderMode mode, std::string what)
      : keep_(std::move(keep)),
        data_(data),
        placeholder_(std::move(placeholder)),
        prefix_(std::move(prefix)),
        mode_(mode),
        what_(std::move(what)),
        next_(placeholder_.empty() ? std::string_view::npos : data_.find(placeholder_)) {}

  Result<size_t> read(std::span<std::byte> buf) override {
    size_t done = 0;
    while (done < buf.size()) {
      if (pending_pos_ < pending_.size()) {
        size_t n = std::min(buf.size() - done, pending_.size() - pending_pos_);
        std::memcpy(buf.data() + done, pending_.data() + pending_pos_, n);
        pending_pos_ += n;
        done += n;
        continue;
      }
      if (pos_ == data_.size()) break;
      if (pos_ < next_) {
        size_t stop = std::min(next_, data_.size());
        size_t n = std::min(buf.size() - done, stop - pos_);
        std::memcpy(buf.data() + done, data_.data() + pos_, n);
        pos_ += n;
        done += n;
        continue;
      }
      DE_TRY(expand());
    }
    return done;
  }

 private:
  // pos_ is at a placeholder: its replacement into pending_, pos_ past what it replaces.
  Status expand() {
    pending_pos_ = 0;
    if (mode_ == PlaceholderMode::Text) {
      pending_ = prefix_;
      pos_ += placeholder_.size();
    } else {
      size_t end = data_.find('\0', pos_);
      if (end == std::string_view::npos) end = data_.size();
      pending_ = DE_TRY(replace_prefix(data_.substr(pos_, end - pos_), placeholder_, prefix_,
                                       PlaceholderMode::Binary, what_));
      pos_ = end;
    }
    next_ = data_.find(placeholder_, pos_);
    return {};
  }

  std::optional<Mapping> keep_;
  std::string_view data_;
  std::string placeholder_;
  std::string prefix_;
  PlaceholderMode mode_;
  std::string what_;
  size_t pos_ = 0;  // next source byte not yet produced
  size_t next_;     // the next placeholder at or after pos_ (npos: none)
  std::string pending_;
  size_t pending_pos_ = 0;
};

}  // namespace

std::unique_ptr<Reader> prefix_replacing_reader(std::optional<Mapping> keep, std::string_view data,
                                                std::string placeholder, std::string prefix,
                                                PlaceholderMode mode, std::string what) {
  return std::make_unique<PrefixReplacingReader>(std::move(keep), data, std::move(placeholder),
                                                 std::move(prefix), mode, std::move(what));
}

}  // namespace detail

std::optional<std::string_view> path_in_package(const InstallEntry& entry,
                                                const fs::path& extracted_dir) {
  std::string_view host = entry.host_path;
  const std::string& dir = extracted_dir.native();
  if (host.size() <= dir.size() + 1 || !host.starts_with(dir) || host[dir.size()] != '/')
    return std::nullopt;
  return host.substr(dir.size() + 1);
}

Result<std::unique_ptr<Reader>> open_content(const InstallEntry& entry, std::string_view prefix) {
  switch (entry.source) {
    case InstallEntry::Source::Bytes:
      return std::unique_ptr<Reader>(std::make_unique<StringReader>(entry.data));
    case InstallEntry::Source::HostFile: {
      auto r = DE_TRY(FileReader::open(entry.host_path));
      return std::unique_ptr<Reader>(std::move(r));
    }
    case InstallEntry::Source::Rewrite: {
      // Read where the page cache holds it and rewritten as it streams out: a large file costs
      // neither a copy of itself nor one of its rewritten bytes.
      auto mapped = DE_TRY(Mapping::open(entry.host_path));
      std::string_view data = mapped.view();
      return detail::prefix_replacing_reader(std::move(mapped), data, entry.placeholder,
                                             std::string(prefix), entry.placeholder_mode,
                                             entry.path);
    }
  }
  return fail(Code::Internal, "bad entry source");
}

}  // namespace de::conda
