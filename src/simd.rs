//! Which instruction set the hand-written kernels run with: the best this CPU has, or a
//! lower one forced with `BITALIGN_SIMD=avx512|avx2|portable` (to compare the paths, or to
//! reproduce a result from a machine without AVX-512). Every kernel also has an `_at`
//! form taking the level, so tests run each available path against the others.

use std::sync::OnceLock;

/// Environment variable that caps the level (`avx512`, `avx2` or `portable`).
pub const ENV: &str = "BITALIGN_SIMD";

/// Instruction-set levels, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Baseline x86-64 (or any other architecture): what the compiler makes of plain Rust.
    Portable,
    /// AVX2 with FMA.
    Avx2,
    /// AVX-512 F, BW, DQ and VL (with FMA).
    Avx512,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "portable" | "scalar" | "none" => Some(Level::Portable),
            "avx2" => Some(Level::Avx2),
            "avx512" => Some(Level::Avx512),
            _ => None,
        }
    }

    /// The best level this CPU runs.
    pub fn best() -> Level {
        static BEST: OnceLock<Level> = OnceLock::new();
        *BEST.get_or_init(detect)
    }

    /// Every level this CPU runs, lowest first.
    pub fn available() -> Vec<Level> {
        [Level::Portable, Level::Avx2, Level::Avx512]
            .into_iter()
            .filter(|&l| l <= Level::best())
            .collect()
    }

    /// `self`, lowered to what the CPU has (so a forced level can never run an
    /// instruction the CPU lacks).
    pub fn clamp_to_cpu(self) -> Level {
        self.min(Level::best())
    }
}

fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512dq")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
        {
            return Level::Avx512;
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Level::Avx2;
        }
    }
    Level::Portable
}

/// The level requested in [`ENV`]: `Ok(None)` when unset, an error message naming the
/// variable when the value is unknown or above what this CPU has.
pub fn requested() -> Result<Option<Level>, String> {
    let Ok(v) = std::env::var(ENV) else {
        return Ok(None);
    };
    if v.trim().is_empty() {
        return Ok(None);
    }
    let l = Level::parse(&v)
        .ok_or_else(|| format!("{ENV}={v:?}: expected avx512, avx2 or portable"))?;
    if l > Level::best() {
        return Err(format!(
            "{ENV}={}: this CPU runs at most {}",
            l.name(),
            Level::best().name()
        ));
    }
    Ok(Some(l))
}

/// The level kernels run with: [`ENV`] if set and valid (lowered to the CPU's), else the
/// best. Read once per process.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        std::env::var(ENV)
            .ok()
            .and_then(|v| Level::parse(&v))
            .map_or(Level::best(), Level::clamp_to_cpu)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_levels_are_ordered() {
        for l in [Level::Portable, Level::Avx2, Level::Avx512] {
            assert_eq!(Level::parse(l.name()), Some(l));
        }
        assert_eq!(Level::parse("sse9"), None);
        assert!(Level::available().contains(&Level::Portable));
        assert_eq!(*Level::available().last().unwrap(), Level::best());
        assert_eq!(Level::Avx512.clamp_to_cpu(), Level::best());
    }
}
