#include "docker_envs/oci/layer_blob.hpp"

#include <optional>

#include "docker_envs/oci/media_types.hpp"
#include "ffi/compress.hpp"

namespace de::oci {
namespace {

// Lets an owning chain (the threaded writer) forward into a writer that lives on our stack.
class ForwardTo final : public Writer {
 public:
  explicit ForwardTo(Writer& next) : next_(next) {}
  Status write(std::span<const std::byte> data) override { return next_.write(data); }
  Status close() override { return next_.close(); }

 private:
  Writer& next_;
};

// Compresses into a hashing writer; owned by the worker thread's chain.
class CompressTo final : public Writer {
 public:
  static Result<std::unique_ptr<CompressTo>> create(Compression c, Writer& hashed_out) {
    auto self = std::unique_ptr<CompressTo>(new CompressTo());
    self->compressor_ = DE_TRY(ffi::make_compressor(c, hashed_out));
    return self;
  }
  Status write(std::span<const std::byte> data) override { return compressor_->write(data); }
  Status close() override { return compressor_->close(); }

 private:
  CompressTo() = default;
  std::unique_ptr<Writer> compressor_;
};

// The blob as `blob_hash` saw it; the diffID is the blob's digest when not given (uncompressed).
Result<LayerBlob> finish_produced(const Layer& layer, const ProduceOptions& options,
                                      HashingWriter& blob_hash, std::optional<Digest> diff_id) {
  LayerBlob result;
  result.blob.digest = blob_hash.finish();
  result.blob.size = static_cast<std::int64_t>(blob_hash.bytes());
  result.diff_id = diff_id ? *diff_id : result.blob.digest;
  result.blob.media_type =
      std::string(media_type::layer_type(options.compression, options.docker_media_types));
  if (auto declared = layer.diff_id(); declared && *declared != result.diff_id)
    return fail(Code::Corruption, "{} produced diffID {}, but the image declares {}",
                layer.describe(), result.diff_id.to_string(), declared->to_string());
  return result;
}

}  // namespace

std::optional<LayerBlob> reusable_blob(const Layer& layer, const ProduceOptions& options) {
  auto blob = layer.blob();
  auto diff_id = layer.diff_id();
  if (!blob || !diff_id) return std::nullopt;
  auto stored = media_type::layer_compression(blob->media_type);
  if (!stored) return std::nullopt;
  bool same = *stored == options.compression;
  bool keep = options.keep_compressed && *stored != Compression::None &&
              options.compression != Compression::None;
  if (!same && !keep) return std::nullopt;
  // An uncompressed blob is the tar itself: a declared diffID other than its digest is a lie that
  // a verbatim copy would carry on (producing the layer reports it).
  if (*stored == Compression::None && *diff_id != blob->digest) return std::nullopt;
  LayerBlob out{*blob, *diff_id};
  out.blob.media_type = std::string(media_type::layer_type(*stored, options.docker_media_types));
  return out;
}

Result<LayerBlob> produce_layer(const Layer& layer, const ProduceOptions& options,
                                    Writer& out) {
  if (auto reuse = reusable_blob(layer, options)) {
    // A trusted blob file (layer cache) goes to a file output by an in-kernel copy, not hashed
    // again; anything else is read and verified.
    if (auto file = layer.trusted_blob_file()) {
      bool copied = DE_TRY_CTX(out.append_file(*file, static_cast<std::uint64_t>(reuse->blob.size)),
                               "writing " + layer.describe());
      if (copied) {
        DE_TRY(out.close());
        return *reuse;
      }
    }
    auto in = DE_TRY(layer.open_blob());
    DE_TRY(copy(*in, out));
    DE_TRY(out.close());
    return *reuse;
  }

  // Compressed: this thread produces the tar and hashes it (diffID) while the worker compresses,
  // hashes the compressed bytes and writes; compression dominates, so this thread has slack.
  // Uncompressed: the blob is the tar. This thread reads the files straight into the queue
  // buffers, one worker hashes them and another writes them to `out`: reading, hashing and
  // writing each cost about as much, so no one thread does two of them (measured on a 780 MB,
  // 43k-file tree: hash-then-write on one worker 0.88 s, on two workers see bench/README.md).
  // The hash writers must outlive the threaded writer that feeds them.
  bool compress = options.compression != Compression::None;
  NullWriter discard;
  HashingWriter blob_hash(compress ? out : discard);
  if (compress) {
    auto worker_chain = DE_TRY(CompressTo::create(options.compression, blob_hash));
    auto threaded = ffi::make_threaded_writer(std::move(worker_chain));
    HashingWriter diff_hash(*threaded);
    DE_TRY_CTX(layer.write_tar(diff_hash), "writing " + layer.describe());
    DE_TRY_CTX(diff_hash.close(), "writing " + layer.describe());
    threaded.reset();
    return finish_produced(layer, options, blob_hash, diff_hash.finish());
  }

  // File bytes cross user space once: read into a queue buffer, hashed and written from it.
  // This is Layer::write_tar's copy, minus its copy buffer.
  std::vector<std::unique_ptr<Writer>> sinks;
  sinks.push_back(std::make_unique<ForwardTo>(blob_hash));
  sinks.push_back(std::make_unique<ForwardTo>(out));
  auto threaded = ffi::make_threaded_fanout(std::move(sinks));
  auto tar = DE_TRY_CTX(layer.open_tar(), "writing " + layer.describe());
  for (;;) {
    auto room = DE_TRY_CTX(threaded->prepare(), "writing " + layer.describe());
    auto read = tar->read(room);
    if (!read)  // the contexts Layer::write_tar's copy would give
      return std::unexpected(std::move(read)
                                 .error()
                                 .add_context("reading " + layer.describe())
                                 .add_context("writing " + layer.describe()));
    size_t n = *read;
    if (n == 0) break;
    DE_TRY_CTX(threaded->commit(n), "writing " + layer.describe());
  }
  DE_TRY_CTX(threaded->close(), "writing " + layer.describe());
  threaded.reset();
  return finish_produced(layer, options, blob_hash, std::nullopt);
}

}  // namespace de::oci
