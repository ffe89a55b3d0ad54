//! The workload: layer shapes and densities, and the trace files (`traces/*.toml`) that hold them.
//!
//! A fully connected layer is a convolution whose filter covers the whole input (R = H, S = W),
//! so every model downstream sees one shape.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{line_of, line_of_key, toml_error, Location, Result, SimError};
use crate::files::{read_text, wrong_kind, FileKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    Conv,
    Fc,
}

/// Pooling applied to a layer's output before the next layer reads it. It costs nothing on the
/// accelerator model; it only shapes the next layer's input (chain check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub kernel: usize,
    pub stride: usize,
    #[serde(default)]
    pub pad: usize,
    /// Caffe-style ceiling rounding of the output size (GoogLeNet, SqueezeNet).
    #[serde(default)]
    pub ceil_mode: bool,
}

impl Pool {
    pub fn out(&self, size: usize) -> usize {
        let span = size + 2 * self.pad;
        if span < self.kernel {
            return 0;
        }
        let num = span - self.kernel;
        if self.ceil_mode {
            num.div_ceil(self.stride) + 1
        } else {
            num / self.stride + 1
        }
    }
}

/// One CONV or FC layer, in the Eyeriss papers' notation: C input channels of H x W, M filters of
/// R x S, stride U, zero padding P, G groups; output E x F.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub name: String,
    pub kind: LayerKind,
    pub c: usize,
    pub m: usize,
    pub h: usize,
    pub w: usize,
    pub r: usize,
    pub s: usize,
    pub stride: usize,
    pub pad: usize,
    pub groups: usize,
    /// Fraction of weights that are non-zero.
    pub weight_density: f64,
    /// Fraction of input activations that are non-zero.
    pub ifmap_density: f64,
    /// Fraction of output activations (after ReLU) that are non-zero.
    pub ofmap_density: f64,
    pub pool: Option<Pool>,
}

impl Layer {
    /// A dense layer with every optional field at its default.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(name: &str, c: usize, h: usize, w: usize, m: usize, r: usize, s: usize) -> Layer {
        Layer {
            name: name.to_string(),
            kind: LayerKind::Conv,
            c,
            m,
            h,
            w,
            r,
            s,
            stride: 1,
            pad: 0,
            groups: 1,
            weight_density: 1.0,
            ifmap_density: 1.0,
            ofmap_density: 1.0,
            pool: None,
        }
    }

    pub fn hp(&self) -> usize {
        self.h + 2 * self.pad
    }
    pub fn wp(&self) -> usize {
        self.w + 2 * self.pad
    }
    /// Output rows.
    pub fn e(&self) -> usize {
        (self.hp() - self.r) / self.stride + 1
    }
    /// Output columns.
    pub fn f(&self) -> usize {
        (self.wp() - self.s) / self.stride + 1
    }
    /// Input channels seen by one filter.
    pub fn cg(&self) -> usize {
        self.c / self.groups
    }
    /// Filters per group.
    pub fn mg(&self) -> usize {
        self.m / self.groups
    }
    pub fn macs(&self, batch: usize) -> u64 {
        (batch * self.m * self.e() * self.f()) as u64 * (self.cg() * self.r * self.s) as u64
    }
    pub fn weights(&self) -> u64 {
        (self.m * self.cg() * self.r * self.s) as u64
    }
    pub fn ifmap_words(&self, batch: usize) -> u64 {
        (batch * self.c * self.h * self.w) as u64
    }
    pub fn ofmap_words(&self, batch: usize) -> u64 {
        (batch * self.m * self.e() * self.f()) as u64
    }
    /// (channels, height, width) of the output after this layer's pooling.
    pub fn out_shape(&self) -> (usize, usize, usize) {
        match self.pool {
            Some(p) => (self.m, p.out(self.e()), p.out(self.f())),
            None => (self.m, self.e(), self.f()),
        }
    }
}

/// The largest count bound (`Layer::count_bound`) a layer may have: every access and cycle
/// count of the layer then fits a u64 with room for the sums over a network's layers.
pub const MAX_LAYER_COUNT: u128 = 1 << 56;
/// The largest sum of the layers' count bounds a network may have at one batch.
pub const MAX_NETWORK_COUNT: u128 = 1 << 60;
/// The largest size of any one dimension in a trace, so shape arithmetic cannot overflow.
pub const MAX_DIM: usize = 1 << 32;

impl Layer {
    /// An upper bound, in wide arithmetic, on every access count and cycle count that any
    /// mapping of any dataflow gives this layer at `batch`, or `None` for a shape no layer can
    /// have (a zero size, or a filter larger than the padded input).
    ///
    /// Why it bounds them: every count is a product of loop trip counts over the layer's
    /// dimensions; the largest are the ifmap words delivered into PEs, at most
    /// N·C·M·E·R·(k·(Wp − S) + S) for k ≤ S filter-width segments, where Wp − S < F·U ≤ F·S, so
    /// at most (S + 1)·MACs, and the GLB/DRAM ifmap words, at most N·C·W·E·R·M ≤ 2·MACs
    /// (W ≤ Wp < (F + 1)·S). Weights fetched (≤ weights·N·E), psum trips (≤ ofmaps·C·R·S) and
    /// cycles are at most the MACs. So 2·(S + 1)·MACs bounds them all (property-tested).
    pub fn count_bound(&self, batch: usize) -> Option<u128> {
        let w = |v: usize| v as u128;
        let dims = [
            self.c,
            self.m,
            self.h,
            self.w,
            self.r,
            self.s,
            self.stride,
            self.groups,
        ];
        if batch == 0 || dims.contains(&0) || !self.c.is_multiple_of(self.groups) {
            return None;
        }
        let (hp, wp) = (w(self.h) + 2 * w(self.pad), w(self.w) + 2 * w(self.pad));
        let (r, s) = (w(self.r), w(self.s));
        if r > hp || s > wp {
            return None;
        }
        let e = (hp - r) / w(self.stride) + 1;
        let f = (wp - s) / w(self.stride) + 1;
        let macs = [w(batch), w(self.m), e, f, w(self.cg()), r, s]
            .iter()
            .try_fold(1u128, |acc, &v| acc.checked_mul(v))?;
        macs.checked_mul(2 * (s + 1))
    }

    /// Refuse a layer whose counts at `batch` could overflow (`count_bound` over
    /// `MAX_LAYER_COUNT`), naming it.
    pub fn check_size(&self, batch: usize) -> Result<()> {
        match self.count_bound(batch) {
            Some(b) if b <= MAX_LAYER_COUNT => Ok(()),
            bound => Err(SimError::TooLarge {
                what: format!("layer `{}` at batch {batch}", self.name),
                bound: bound.map_or("more than 2^128".into(), |b| format!("{b:.3e}")),
                limit: format!("{MAX_LAYER_COUNT:.3e}"),
            }),
        }
    }
}

/// A network: an ordered list of layers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    pub name: String,
    pub source: String,
    /// Each layer reads the previous one's pooled output (checked on load).
    pub chain: bool,
    pub layers: Vec<Layer>,
}

// ---- trace file schema -------------------------------------------------------------------

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TraceFile {
    pub name: String,
    pub source: String,
    #[serde(default)]
    pub chain: bool,
    #[serde(rename = "layer")]
    pub layers: Vec<toml::Spanned<LayerSpec>>,
}

/// One `[[layer]]` table. Optional keys take the defaults documented in the README.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    pub name: String,
    #[serde(default = "default_kind")]
    pub kind: LayerKind,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub m: usize,
    pub r: Option<usize>,
    pub s: Option<usize>,
    #[serde(default = "one")]
    pub stride: usize,
    #[serde(default)]
    pub pad: usize,
    #[serde(default = "one")]
    pub groups: usize,
    pub weight_density: Option<f64>,
    pub ifmap_density: Option<f64>,
    pub ofmap_density: Option<f64>,
    pub pool: Option<Pool>,
}

fn default_kind() -> LayerKind {
    LayerKind::Conv
}
fn one() -> usize {
    1
}

impl Network {
    /// Refuse a network whose counts at `batch` could overflow: a layer too large on its own,
    /// or layers whose counts together could overflow the network's totals (named at the
    /// layer where they do).
    pub fn check_size(&self, batch: usize) -> Result<()> {
        let mut total: u128 = 0;
        for l in &self.layers {
            l.check_size(batch)?;
            total += l.count_bound(batch).unwrap_or(u128::MAX);
            if total > MAX_NETWORK_COUNT {
                return Err(SimError::TooLarge {
                    what: format!(
                        "network `{}` at batch {batch}, summed up to layer `{}`",
                        self.name, l.name
                    ),
                    bound: format!("{total:.3e}"),
                    limit: format!("{MAX_NETWORK_COUNT:.3e}"),
                });
            }
        }
        Ok(())
    }

    /// Load and check a trace file.
    pub fn load(path: &Path) -> Result<Network> {
        let text = read_text(path, FileKind::Trace)?;
        Network::parse(path, &text)
    }

    /// Parse and check trace text; `path` only labels errors.
    pub fn parse(path: &Path, text: &str) -> Result<Network> {
        let file: TraceFile = toml::from_str(text).map_err(|e| {
            wrong_kind(path, text, FileKind::Trace).unwrap_or_else(|| toml_error(path, text, e))
        })?;
        let src = Source { path, text };
        if file.layers.is_empty() {
            return Err(src.invalid(
                0,
                "layer".into(),
                "",
                "the trace has no [[layer]] table".into(),
                "add at least one [[layer]] table",
            ));
        }
        let mut layers: Vec<Layer> = Vec::with_capacity(file.layers.len());
        for (i, spanned) in file.layers.iter().enumerate() {
            let table = Table {
                src: &src,
                i,
                start: spanned.span().start,
                spec: spanned.get_ref(),
            };
            layers.push(table.layer(&layers)?);
        }
        if file.chain {
            check_chain(&src, &file, &layers)?;
            // A chained layer's ofmap becomes the next layer's ifmap after pooling; max-pooling
            // can only raise the density, so defaulting to the next ifmap's density errs towards
            // more DRAM words, never fewer.
            for i in 0..layers.len() - 1 {
                if file.layers[i].get_ref().ofmap_density.is_none() {
                    layers[i].ofmap_density = layers[i + 1].ifmap_density;
                }
            }
        }
        Ok(Network {
            name: file.name,
            source: file.source,
            chain: file.chain,
            layers,
        })
    }
}

/// A trace's path and text: what its errors point into.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Source<'_> {
    /// An error at `field` of the table starting at byte `start` (its own line if `field` is
    /// empty).
    fn invalid(&self, start: usize, key: String, field: &str, rule: String, fix: &str) -> SimError {
        let line = if field.is_empty() {
            line_of(self.text, start)
        } else {
            line_of_key(self.text, start, field)
        };
        SimError::Invalid {
            at: Location {
                file: self.path.to_path_buf(),
                line: Some(line),
                key: Some(key),
            },
            rule,
            fix: fix.to_string(),
        }
    }
}

/// One `[[layer]]` table being checked.
struct Table<'a> {
    src: &'a Source<'a>,
    i: usize,
    start: usize,
    spec: &'a LayerSpec,
}

impl Table<'_> {
    fn err(&self, field: &str, rule: String, fix: &str) -> SimError {
        let key = format!("layer[{}].{field} (`{}`)", self.i, self.spec.name);
        self.src.invalid(self.start, key, field, rule, fix)
    }

    /// The checked layer; `earlier` are the layers before it.
    fn layer(&self, earlier: &[Layer]) -> Result<Layer> {
        let spec = self.spec;
        self.sizes()?;
        let (r, s) = self.filter()?;
        self.groups_and_densities()?;
        if earlier.iter().any(|l| l.name == spec.name) {
            return Err(self.err(
                "name",
                format!("layer name `{}` is used twice", spec.name),
                "give every layer a unique name",
            ));
        }
        let layer = Layer {
            name: spec.name.clone(),
            kind: spec.kind,
            c: spec.c,
            m: spec.m,
            h: spec.h,
            w: spec.w,
            r,
            s,
            stride: spec.stride,
            pad: spec.pad,
            groups: spec.groups,
            weight_density: spec.weight_density.unwrap_or(1.0),
            ifmap_density: spec.ifmap_density.unwrap_or(1.0),
            ofmap_density: spec.ofmap_density.unwrap_or(1.0),
            pool: spec.pool,
        };
        self.fits(&layer)?;
        Ok(layer)
    }

    /// Every size at least 1 (pad at least 0) and at most `MAX_DIM`.
    fn sizes(&self) -> Result<()> {
        let spec = self.spec;
        for (field, v) in [
            ("c", spec.c),
            ("h", spec.h),
            ("w", spec.w),
            ("m", spec.m),
            ("stride", spec.stride),
            ("groups", spec.groups),
        ] {
            if v == 0 {
                return Err(self.err(
                    field,
                    format!("`{field}` is 0: every dimension must be at least 1"),
                    "give a positive size",
                ));
            }
        }
        let sizes = [
            ("c", Some(spec.c)),
            ("h", Some(spec.h)),
            ("w", Some(spec.w)),
            ("m", Some(spec.m)),
            ("r", spec.r),
            ("s", spec.s),
            ("stride", Some(spec.stride)),
            ("pad", Some(spec.pad)),
            ("groups", Some(spec.groups)),
            ("pool", spec.pool.map(|p| p.kernel.max(p.stride).max(p.pad))),
        ];
        for (field, v) in sizes {
            if v.is_some_and(|v| v > MAX_DIM) {
                return Err(self.err(
                    field,
                    format!("`{field}` = {} is larger than {MAX_DIM}", v.unwrap_or(0)),
                    "give the layer's real size",
                ));
            }
        }
        Ok(())
    }

    /// The filter's (R, S): given for a conv layer, the whole input for an fc layer; within the
    /// padded input, and no narrower than the stride.
    fn filter(&self) -> Result<(usize, usize)> {
        let spec = self.spec;
        let (r, s) = match spec.kind {
            LayerKind::Fc => {
                if spec.r.is_some_and(|r| r != spec.h) || spec.s.is_some_and(|s| s != spec.w) {
                    return Err(self.err(
                        "r",
                        "an fc layer's filter covers its whole input (r = h, s = w)".into(),
                        "drop `r` and `s` from fc layers",
                    ));
                }
                (spec.h, spec.w)
            }
            LayerKind::Conv => {
                let r = spec.r.ok_or_else(|| {
                    self.err(
                        "r",
                        "a conv layer needs its filter height `r`".into(),
                        "add `r = ...`",
                    )
                })?;
                (r, spec.s.unwrap_or(r))
            }
        };
        for (field, v) in [("r", r), ("s", s)] {
            if v == 0 {
                return Err(self.err(
                    field,
                    format!("`{field}` is 0: every dimension must be at least 1"),
                    "give a positive filter size",
                ));
            }
        }
        if r > spec.h + 2 * spec.pad || s > spec.w + 2 * spec.pad {
            return Err(self.err(
                "r",
                format!(
                    "filter {r}x{s} is larger than the padded input {}x{}",
                    spec.h + 2 * spec.pad,
                    spec.w + 2 * spec.pad
                ),
                "check `r`/`s` against `h`/`w`, or add `pad`",
            ));
        }
        if spec.stride > r || spec.stride > s {
            return Err(self.err(
                "stride",
                format!("stride {} exceeds the filter {r}x{s}: input between windows would never be read", spec.stride),
                "use a stride no larger than the filter, or subsample the input in the previous layer",
            ));
        }
        Ok((r, s))
    }

    /// Groups divide the channels; densities are fractions; a pool has a kernel and stride.
    fn groups_and_densities(&self) -> Result<()> {
        let spec = self.spec;
        if !spec.c.is_multiple_of(spec.groups) || !spec.m.is_multiple_of(spec.groups) {
            return Err(self.err(
                "groups",
                format!(
                    "groups = {} must divide both c = {} and m = {}",
                    spec.groups, spec.c, spec.m
                ),
                "set groups to a common divisor (groups = c for a depthwise layer)",
            ));
        }
        for (field, d) in [
            ("weight_density", spec.weight_density),
            ("ifmap_density", spec.ifmap_density),
            ("ofmap_density", spec.ofmap_density),
        ] {
            if let Some(d) = d {
                if !(d > 0.0 && d <= 1.0) {
                    return Err(self.err(
                        field,
                        format!("`{field}` = {d} is outside (0, 1]"),
                        "give the fraction of non-zero values, e.g. 0.45",
                    ));
                }
            }
        }
        if let Some(p) = spec.pool {
            if p.kernel == 0 || p.stride == 0 {
                return Err(self.err(
                    "pool",
                    "pool kernel and stride must be at least 1".into(),
                    "fix the `pool` table",
                ));
            }
        }
        Ok(())
    }

    /// One image of the layer stays within the counts the model keeps exact, and its pool
    /// fits its output.
    fn fits(&self, layer: &Layer) -> Result<()> {
        if layer.count_bound(1).is_none_or(|b| b > MAX_LAYER_COUNT) {
            return Err(self.src.invalid(
                self.start,
                format!("layer[{}] (`{}`)", self.i, self.spec.name),
                "",
                format!(
                    "one image of this layer could take more than the {MAX_LAYER_COUNT:.3e} accesses the model counts exactly"
                ),
                "check the layer's sizes (c, m, h, w, r, s)",
            ));
        }
        if let Some(p) = layer.pool {
            let (_, ph, pw) = layer.out_shape();
            if ph == 0 || pw == 0 || p.kernel > layer.e() + 2 * p.pad {
                return Err(self.err(
                    "pool",
                    format!(
                        "pool kernel {} is larger than the output {}x{}",
                        p.kernel,
                        layer.e(),
                        layer.f()
                    ),
                    "shrink the pool or remove it",
                ));
            }
        }
        Ok(())
    }
}

/// In a chain, each layer reads the previous one's pooled output.
fn check_chain(src: &Source, file: &TraceFile, layers: &[Layer]) -> Result<()> {
    for i in 1..layers.len() {
        let (c, h, w) = layers[i - 1].out_shape();
        let l = &layers[i];
        if (l.c, l.h, l.w) == (c, h, w) {
            continue;
        }
        // A fully connected layer written with its flattened features (c = C·H·W on 1x1)
        // reads the same values as the map form, which is the one rule.
        let flattened = l.kind == LayerKind::Fc && (l.h, l.w) == (1, 1) && l.c == c * h * w;
        let fix = if flattened {
            format!("an fc layer takes the map it reads, not its flattened features: write c = {c}, h = {h}, w = {w}")
        } else {
            "fix the shapes, the previous layer's `pool`, or set `chain = false` for a network that is not a chain".to_string()
        };
        return Err(src.invalid(
            file.layers[i].span().start,
            format!("layer[{i}] (`{}`)", l.name),
            "c",
            format!(
                "input {}x{}x{} (c x h x w) differs from `{}`'s pooled output {c}x{h}x{w}",
                l.c,
                l.h,
                l.w,
                layers[i - 1].name
            ),
            &fix,
        ));
    }
    Ok(())
}

impl Network {
    /// The trace file text of this network (round-trips through `Network::parse`).
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        // The header comment must stay one line each: control characters would end it.
        let comment = |s: &str| {
            s.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
        };
        out.push_str(&format!(
            "# {}\n# Source: {}\n\n",
            comment(&self.name),
            comment(&self.source)
        ));
        out.push_str(&format!("name = {}\n", toml_str(&self.name)));
        out.push_str(&format!("source = {}\n", toml_str(&self.source)));
        out.push_str(&format!("chain = {}\n", self.chain));
        for l in &self.layers {
            out.push_str("\n[[layer]]\n");
            out.push_str(&format!("name = {}\n", toml_str(&l.name)));
            if l.kind == LayerKind::Fc {
                out.push_str("kind = \"fc\"\n");
            }
            out.push_str(&format!(
                "c = {}\nh = {}\nw = {}\nm = {}\n",
                l.c, l.h, l.w, l.m
            ));
            if l.kind == LayerKind::Conv {
                out.push_str(&format!("r = {}\n", l.r));
                if l.s != l.r {
                    out.push_str(&format!("s = {}\n", l.s));
                }
            }
            for (k, v, d) in [
                ("stride", l.stride, 1),
                ("pad", l.pad, 0),
                ("groups", l.groups, 1),
            ] {
                if v != d {
                    out.push_str(&format!("{k} = {v}\n"));
                }
            }
            for (k, v) in [
                ("weight_density", l.weight_density),
                ("ifmap_density", l.ifmap_density),
                ("ofmap_density", l.ofmap_density),
            ] {
                if v != 1.0 {
                    out.push_str(&format!("{k} = {v}\n"));
                }
            }
            if let Some(p) = l.pool {
                out.push_str(&format!(
                    "pool = {{ kernel = {}, stride = {}",
                    p.kernel, p.stride
                ));
                if p.pad != 0 {
                    out.push_str(&format!(", pad = {}", p.pad));
                }
                if p.ceil_mode {
                    out.push_str(", ceil_mode = true");
                }
                out.push_str(" }\n");
            }
        }
        out
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
