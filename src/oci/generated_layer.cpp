#include "docker_envs/oci/generated_layer.hpp"

#include <algorithm>
#include <cstring>
#include <map>

namespace de::oci {

namespace {

struct Items {
  std::vector<GeneratedEntry> entries;  // complete, sorted; what the tar holds
  std::shared_ptr<const EntryData> data;
};

std::string parent_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

// Generates the tar on demand: for each entry its header bytes, then its data (opened only when
// its turn comes, closed after), then padding; finally the trailer. Errors are sticky, as Reader
// requires.
class GeneratedTarReader final : public Reader {
 public:
  explicit GeneratedTarReader(std::shared_ptr<const Items> items) : items_(std::move(items)) {}

  Result<size_t> read(std::span<std::byte> buf) override {
    if (error_) return std::unexpected(*error_);
    auto r = fill(buf);
    if (!r) error_ = r.error();
    return r;
  }

 private:
  enum class Phase { Start, Header, Data, Padding, Trailer, Done };

  const GeneratedEntry& current() const { return items_->entries[index_]; }

  Result<size_t> fill(std::span<std::byte> buf) {
    size_t done = 0;
    while (done < buf.size() && phase_ != Phase::Done) {
      std::span<std::byte> rest = buf.subspan(done);
      switch (phase_) {
        case Phase::Start:
          DE_TRY(start_entry());
          break;
        case Phase::Header: {
          size_t n = std::min(rest.size(), header_.size() - header_pos_);
          std::memcpy(rest.data(), header_.data() + header_pos_, n);
          header_pos_ += n;
          done += n;
          if (header_pos_ == header_.size()) DE_TRY(start_data());
          break;
        }
        case Phase::Data:
          done += DE_TRY(read_data(rest));
          break;
        case Phase::Padding:
        case Phase::Trailer: {
          size_t n = static_cast<size_t>(std::min<std::uint64_t>(rest.size(), zeros_left_));
          std::memset(rest.data(), 0, n);
          zeros_left_ -= n;
          done += n;
          if (zeros_left_ == 0) {
            if (phase_ == Phase::Trailer) {
              phase_ = Phase::Done;
            } else {
              ++index_;
              phase_ = Phase::Start;
            }
          }
          break;
        }
        case Phase::Done:
          break;
      }
    }
    return done;
  }

  Status start_entry() {
    if (index_ == items_->entries.size()) {
      phase_ = Phase::Trailer;
      zeros_left_ = TarWriter::kTrailerSize;
      return {};
    }
    const TarEntry& tar = current().tar;
    header_ = DE_TRY(TarWriter::encode_header(tar));
    header_pos_ = 0;
    data_left_ = tar.type == EntryType::File ? tar.size : 0;
    phase_ = Phase::Header;
    return {};
  }

  Status start_data() {
    header_.clear();
    if (data_left_ == 0) {
      ++index_;
      phase_ = Phase::Start;
      return {};
    }
    data_ = DE_TRY(items_->data->open(current().tar, current().data));
    phase_ = Phase::Data;
    return {};
  }

  Result<size_t> read_data(std::span<std::byte> rest) {
    const GeneratedEntry& e = current();
    // When the rest of the data fits, ask for one byte more: getting fewer bytes than asked is
    // the end of the data, so the check that it did not grow needs no extra read (that read was
    // one syscall more per file, 43k on a big tree).
    bool probe = rest.size() > data_left_;
    size_t want = static_cast<size_t>(std::min<std::uint64_t>(rest.size(), data_left_));
    size_t n = DE_TRY_CTX(data_->read(rest.first(want + (probe ? 1 : 0))), "reading " + e.tar.path);
    if (n == 0) return std::unexpected(wrong_size(e.tar.size - data_left_));
    if (n > want) return std::unexpected(wrong_size(e.tar.size + 1));
    data_left_ -= n;
    if (data_left_ == 0) {
      std::byte extra[1];
      if (!(probe && n == want) && DE_TRY_CTX(data_->read(extra), "reading " + e.tar.path) != 0)
        return std::unexpected(wrong_size(e.tar.size + 1));
      data_.reset();
      zeros_left_ = TarWriter::padding(e.tar.size);
      phase_ = Phase::Padding;
    }
    return n;
  }

  Error wrong_size(std::uint64_t got) const {
    return items_->data->wrong_size(current().tar, current().data, got);
  }

  std::shared_ptr<const Items> items_;
  size_t index_ = 0;
  Phase phase_ = Phase::Start;
  std::string header_;
  size_t header_pos_ = 0;
  std::unique_ptr<Reader> data_;
  std::uint64_t data_left_ = 0;
  std::uint64_t zeros_left_ = 0;
  std::optional<Error> error_;
};

class GeneratedLayer final : public Layer {
 public:
  GeneratedLayer(std::shared_ptr<const Items> items, std::uint64_t tar_size,
                 std::string description)
      : items_(std::move(items)), tar_size_(tar_size), description_(std::move(description)) {}

  std::optional<Descriptor> blob() const override { return std::nullopt; }
  std::optional<Digest> diff_id() const override { return std::nullopt; }
  Result<std::unique_ptr<Reader>> open_blob() const override {
    return fail(Code::Unsupported, "{} has no stored blob until it is written", description_);
  }
  Result<std::unique_ptr<Reader>> open_tar() const override {
    return std::unique_ptr<Reader>(std::make_unique<GeneratedTarReader>(items_));
  }
  std::optional<std::uint64_t> tar_size() const override { return tar_size_; }
  std::string describe() const override { return description_; }

 private:
  std::shared_ptr<const Items> items_;
  std::uint64_t tar_size_;
  std::string description_;
};

// One entry per path, sorted, with every parent directory.
std::map<std::string, GeneratedEntry> complete(std::vector<GeneratedEntry> entries,
                                               const GeneratedLayerOptions& options) {
  std::map<std::string, GeneratedEntry> all;
  for (auto& e : entries) {
    std::string path = std::move(e.tar.path);  // put back below, from the key
    all.insert_or_assign(std::move(path), std::move(e));
  }
  // A parent sorts before its children, so parents inserted here land behind the iteration and
  // are not visited again; a parent already present was visited, so its own parents are present.
  for (const auto& [path, entry] : all) {
    for (std::string a = parent_of(path); !a.empty(); a = parent_of(a)) {
      auto [it, inserted] = all.try_emplace(a);
      if (!inserted) break;
      TarEntry& dir = it->second.tar;
      dir.path = a;
      dir.type = EntryType::Directory;
      dir.mode = 0755;
      if (options.implied_directory) options.implied_directory(dir);
    }
  }
  return all;
}

}  // namespace

Result<LayerPtr> generated_layer(std::vector<GeneratedEntry> entries,
                                 std::shared_ptr<const EntryData> data,
                                 const GeneratedLayerOptions& options) {
  std::map<std::string, GeneratedEntry> all = complete(std::move(entries), options);

  // Hardlinks first (they read their targets, which the pass below moves away).
  for (auto& [path, e] : all) {
    if (e.tar.type != EntryType::Hardlink) continue;
    auto target = all.find(e.tar.link_target);
    if (target == all.end() || target->second.tar.type != EntryType::File)
      return fail(Code::InvalidArgument,
                  "hardlink {} points to {}, which is not a file of the same layer", path,
                  e.tar.link_target);
    if (target->first < path) {
      e.tar.size = 0;
      e.data = GeneratedEntry::kNoData;
    } else {  // the target comes later in the tar: its data is written here instead
      e.tar.type = EntryType::File;
      e.tar.link_target.clear();
      e.tar.size = target->second.tar.size;
      e.data = target->second.data;
    }
  }

  auto items = std::make_shared<Items>();
  items->data = std::move(data);
  items->entries.reserve(all.size());
  std::uint64_t total = TarWriter::kTrailerSize;
  for (auto& [path, e] : all) {
    e.tar.path = path;
    if (options.clamp_mtime) e.tar.mtime = std::min(e.tar.mtime, *options.clamp_mtime);
    if (e.tar.type == EntryType::File && e.tar.size > 0 && !items->data)
      return fail(Code::InvalidArgument, "adding {}: a file and no data for it", path);
    // Validate now, so that reading the layer later cannot fail on an entry.
    DE_TRY_CTX(TarWriter::encode_header(e.tar), "adding " + path);
    total += TarWriter::encoded_size(e.tar);
    items->entries.push_back(std::move(e));
  }
  std::string description = options.description.empty()
                                ? fmt::format("new layer ({} entries)", items->entries.size())
                                : options.description;
  return LayerPtr(
      std::make_shared<GeneratedLayer>(std::move(items), total, std::move(description)));
}

}  // namespace de::oci
