"""`load_data`'s first lines for the toy text corpus (engine/data/text.py) and the downloaded
datasets (engine/data/download.py): MNIST, Fashion-MNIST, CIFAR-10."""
from __future__ import annotations

from .data_plan import DataPlan
from .sources import Source, wanted
from .sources_files import READ_IDX
from .text import block, indent, lit, wrapped

TEXT_HELPERS = [block('''
    def tokenize(text):
        """Lower-case words and single punctuation marks."""
        return re.findall(r"[a-z0-9']+|[^\\sa-z0-9']", text.lower())
    '''), block('''
    def vocabulary(texts, max_size=None, min_count=1):
        """{word: id}: <pad> is 0, <unk> 1, then the words by frequency (ties a-z)."""
        counts = Counter(word for text in texts for word in tokenize(text))
        words = sorted((w for w, c in counts.items() if c >= min_count),
                       key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[:max(0, max_size - 2)]
        return {w: i for i, w in enumerate(["<pad>", "<unk>", *words])}
    '''), block('''
    def encode(texts, vocab, max_len):
        """Token ids (unknown words 1), cut or padded with 0 to max_len: (len(texts), max_len)."""
        ids = [[vocab.get(w, 1) for w in tokenize(text)][:max_len] for text in texts]
        rows = [row + [0] * (max_len - len(row)) for row in ids]
        return np.array(rows, dtype=np.int64).reshape(len(texts), max_len)
    ''')]


def toy_text(d: DataPlan) -> Source:
    from ...data.text import _TEMPLATES, SYNONYM_GROUPS, _int

    samples = _int(d.config, "samples", 800, 2)
    max_len = _int(d.config, "max_len", 12, 1)
    window = _int(d.config, "window", 2, 1)
    mode = d.option("mode", "classify")
    y = wanted(d).get("label", "y")
    seed = _int(d.config, "seed", 0, 0)
    if mode == "classify":
        lines = [f"sentences, {y} = toy_reviews({samples}, {seed})  # 1 positive, 0 negative",
                 f"x = encode(sentences, vocabulary(sentences), {max_len})"]
    else:
        lines = [f"sentences, _ = toy_reviews({samples}, {seed})",
                 f"ids = encode(sentences, vocabulary(sentences), {max_len})"]
    if mode == "skipgram":
        lines += block("""
            x, {y} = [], []  # (centre word, a word at most {w} away) pairs
            for row in ids:
                words = row[row != 0]
                for i, word in enumerate(words):
                    for j in range(max(0, i - {w}), min(len(words), i + {w} + 1)):
                        if j != i:
                            x.append(word)
                            {y}.append(words[j])
            x, {y} = np.array(x, dtype=np.int64)[:, None], np.array({y}, dtype=np.int64)
            """, y=y, w=window)
    elif mode == "cbow":
        lines += block("""
            x, {y} = [], []  # (the {n} words around a word, the word) pairs, 0-padded
            for row in ids:
                words = row[row != 0]
                padded = np.concatenate([np.zeros({w}, np.int64), words, np.zeros({w}, np.int64)])
                for i, word in enumerate(words):
                    x.append(np.concatenate([padded[i:i + {w}], padded[i + {w} + 1:i + {n} + 1]]))
                    {y}.append(word)
            x = np.array(x, dtype=np.int64).reshape(-1, {n})
            {y} = np.array({y}, dtype=np.int64)
            """, y=y, w=window, n=2 * window)
    groups = [f"{lit(k)}: {lit(v)}" for k, v in SYNONYM_GROUPS.items()]
    corpus = ["def toy_reviews(samples, seed):",
              ('    """Movie-review sentences from templates, half positive; the labels (1 '
              'positive)."""'),
              *wrapped("words = {", groups, "}", 1),
              *wrapped("templates = [", [lit(t) for t in _TEMPLATES], "]", 1),
              *indent(block('''
                  rng = np.random.default_rng(seed)
                  labels = np.arange(samples) % 2
                  rng.shuffle(labels)
                  sentences = []
                  for positive in labels:
                      template = templates[rng.integers(len(templates))]
                      fill = {**words, "adj": words["good" if positive else "bad"],
                              "verb": words["liked" if positive else "disliked"]}
                      sentences.append(" ".join(fill[w[1:-1]][rng.integers(4)]
                                                if w.startswith("{") else w
                                                for w in template.split()))
                  return sentences, labels.astype(np.int64)
                  '''))]
    return Source(lines, f"{samples} toy movie reviews ({mode})", [*TEXT_HELPERS, corpus])


# -- downloads ------------------------------------------------------------------------------------

FETCH = block('''
    def fetch(folder, mirrors, files):
        """Download each file once into `folder` (checked against its MD5); their paths."""
        def md5_of(path):
            return hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()

        folder.mkdir(parents=True, exist_ok=True)
        for name, md5 in files.items():
            path, part = folder / name, folder / (name + ".part")
            if path.is_file() and md5_of(path) == md5:
                continue
            for url in mirrors:
                try:
                    urllib.request.urlretrieve(url + name, part)
                    break
                except OSError as exc:
                    error = exc
            else:
                raise SystemExit(f"could not download {name} ({error}); put it in {folder}")
            if md5_of(part) != md5:
                raise SystemExit(f"{name} was damaged in the download: try again")
            part.replace(path)
        return [folder / name for name in files]
    ''')


def download(d: DataPlan) -> Source:
    from ...data.download import CACHE_ENV, MIRROR_ENV, RESOURCES

    res = RESOURCES[d.name]
    mirror = d.config.get("mirror")
    mirrors = [mirror if mirror.endswith("/") else mirror + "/"] if mirror else res["mirrors"]
    chosen = d.config.get("cache_dir")        # a sub-folder of the cache, as in the app
    sub = f" / {lit(chosen)}" if chosen else ""
    lines = ['home_cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"',
             f'cache = os.environ.get({lit(CACHE_ENV)}) or Path(home_cache) / "studio/datasets"',
             f"folder = Path(cache).expanduser(){sub} / {lit(d.name)}",
             *wrapped("mirrors = [", [lit(m) for m in mirrors], "]"),
             f"own_copy = os.environ.get({lit(MIRROR_ENV)})  # e.g. file:///data/mnist/",
             "if own_copy:  # the user's own copy replaces the download locations, as in Studio",
             '    mirrors = [own_copy.rstrip("/") + "/"]',
             "files = fetch(folder, mirrors, {",
             *[f"    {lit(name)}: {lit(md5)}," for name, md5 in res["files"].items()], "})"]
    labels = "label" in wanted(d)           # an autoencoder's script needs no labels
    y = wanted(d).get("label", "y")
    if d.name == "cifar10":
        lines += block("""
            with tarfile.open(files[0], "r:gz") as tar:  # CIFAR-10's binary batches
                batches = {{Path(m.name).name: tar.extractfile(m).read() for m in tar.getmembers()
                           if m.isfile() and m.name.endswith(".bin")}}
            for prefix, names in (("", [n for n in sorted(batches) if n.startswith("data_batch_")]),
                                  ("test_", ["test_batch.bin"])):
                records = np.frombuffer(b"".join(batches[n] for n in names), np.uint8)
                records = records.reshape(-1, 1 + 3 * 32 * 32)  # a label byte, then the pixels
                images = records[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32)
                if prefix:
                    test_x, test_{y} = images, records[:, 0].astype(np.int64)
                else:
                    x, {y} = images, records[:, 0].astype(np.int64)
            """, y=y)
        return Source(lines, "CIFAR-10 (downloaded once)", [FETCH])
    lines += ["x = read_idx(files[0])[:, None].astype(np.float32)  # 1 channel",
              *([f"{y} = read_idx(files[1]).astype(np.int64)"] if labels else []),
              "test_x = read_idx(files[2])[:, None].astype(np.float32)",
              *([f"test_{y} = read_idx(files[3]).astype(np.int64)"] if labels else [])]
    return Source(lines, f"{res['title']} (downloaded once)", [FETCH, READ_IDX])
