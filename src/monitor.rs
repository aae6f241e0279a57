//! The accuracy monitor of a host that runs the surrogate next to a solver (the OpenFOAM function
//! object; any host with a time loop): when the solver reaches a predicted time, the relative L2
//! error of the prediction against the solver's fields, with an ensemble the relative spread
//! RMS(std)/RMS(mean), and the `maxSpread` decision to stop trusting the surrogate. The numbers are
//! summed over every rank's locations through the host's [`Communicator`], so a distributed run
//! reports a serial run's numbers, and the log lines are worded here so that every host says the
//! same thing.

use crate::distributed::Communicator;
use crate::err;
use crate::error::Result;
use crate::host::Surrogate;

/// Per field (`components[f]` consecutive channels of the location-major `a`, `b`, `reference`),
/// `sqrt(sum (a - b)^2) / sqrt(sum reference^2)` over the locations of every rank (`b` absent:
/// `a` alone). A reference that is zero at every location makes the ratio undefined: NaN (0 when
/// the numerator is zero too). Every rank calls it; the sums travel as one gather and one broadcast.
pub fn relative_l2(comm: &mut dyn Communicator, components: &[usize], a: &[f64], b: Option<&[f64]>, reference: &[f64]) -> Vec<f64> {
    let sums = comm.gather(&local_sums(components, a, b, reference));
    // The master adds the ranks' sums in rank order (from 0.0, which adds exactly).
    let mut total = vec![0.0; 2 * components.len()];
    for rank in sums.chunks(total.len()) {
        for (t, s) in total.iter_mut().zip(rank) {
            *t += s;
        }
    }
    let total = comm.broadcast(&total);
    total.chunks(2).map(|nd| relative(nd[0], nd[1])).collect()
}

/// `sqrt(num) / sqrt(den)` for sums of squares. A zero reference (`den` 0) has no scale to be
/// relative to: NaN rather than a huge number (the function object once divided by 1e-300 and
/// wrote 3e+301 when the solver's field was zero), and 0 when there is no difference either.
fn relative(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        return if num == 0.0 { 0.0 } else { f64::NAN };
    }
    num.sqrt() / den.sqrt()
}

/// This rank's `[numerator, denominator]` sums of squares per field (see [`relative_l2`]).
fn local_sums(components: &[usize], a: &[f64], b: Option<&[f64]>, reference: &[f64]) -> Vec<f64> {
    let channels: usize = components.iter().sum();
    let n = a.len().checked_div(channels).unwrap_or(0);
    let mut out = Vec::with_capacity(2 * components.len());
    let mut c0 = 0;
    for &nc in components {
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..n {
            for d in 0..nc {
                let j = i * channels + c0 + d;
                let diff = b.map_or(a[j], |b| a[j] - b[j]);
                num += diff * diff;
                den += reference[j] * reference[j];
            }
        }
        out.extend([num, den]);
        c0 += nc;
    }
    out
}

/// The monitor's numbers at one predicted time: per field, the relative L2 error of the prediction
/// (the ensemble's mean) and, with an ensemble, the relative spread RMS(std)/RMS(mean).
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// The fields' names, in the bundle's order.
    pub fields: Vec<String>,
    /// Relative L2 error per field (empty when no solver values were given).
    pub errors: Vec<f64>,
    /// Relative ensemble spread per field (empty without an ensemble).
    pub spreads: Vec<f64>,
}

impl Scores {
    /// The log's account: `t = 0.1, lead 0.1: relative L2 error T 0.012, ensemble spread T 0.03`,
    /// and why a number is `nan` when one is.
    pub fn summary(&self, t: f64, lead: f64) -> String {
        let mut s = format!("t = {}, lead {}: relative L2 error{}", g6(t), g6(lead), self.list(&self.errors));
        if !self.spreads.is_empty() {
            s += &format!(", ensemble spread{}", self.list(&self.spreads));
        }
        if self.errors.iter().any(|e| e.is_nan()) {
            s += " (error nan: the solver's field is zero, so no relative error is defined)";
        }
        if self.spreads.iter().any(|e| e.is_nan()) {
            s += " (spread nan: the ensemble mean is zero)";
        }
        s
    }

    /// ` T 0.012 U 0.3`: each field's name and number.
    pub fn list(&self, values: &[f64]) -> String {
        self.fields.iter().zip(values).map(|(f, v)| format!(" {f} {}", g6(*v))).collect()
    }

    /// The field whose spread exceeds `max_spread` the most (the first of equals), if any: the
    /// ensemble does not agree on this prediction, so it is not shown and no other follows. An
    /// undefined (NaN) spread exceeds nothing.
    pub fn worst_spread(&self, max_spread: f64) -> Option<usize> {
        let mut worst: Option<usize> = None;
        for (f, &s) in self.spreads.iter().enumerate() {
            if s > max_spread && worst.map_or(true, |w| s > self.spreads[w]) {
                worst = Some(f);
            }
        }
        worst
    }

    /// The reason to stop at time `t` (see [`Scores::worst_spread`]), worded for the log; `None`
    /// while every spread is within `max_spread` (or without a threshold: `max_spread <= 0`).
    pub fn stop_reason(&self, t: f64, max_spread: f64) -> Option<String> {
        if max_spread <= 0.0 {
            return None;
        }
        let w = self.worst_spread(max_spread)?;
        Some(format!(
            "at t = {} the ensemble spread of {} is {} > maxSpread {}: the surrogate stops forecasting.",
            g6(t),
            self.fields[w],
            g6(self.spreads[w]),
            g6(max_spread)
        ))
    }
}

/// The title of a host's table of scores (the function object's `error.dat`): what its numbers are.
pub fn table_title(members: usize) -> String {
    if members == 1 {
        "relative L2 error of the prediction".into()
    } else {
        format!("relative L2 error of the ensemble mean ({members} members) per field, then the relative ensemble spread spread(<field>) = RMS(std)/RMS(mean)")
    }
}

/// The table's columns after the time and the lead, in the order of [`Scores`]: each field's error,
/// then with an ensemble each field's spread, `spread(<field>)`.
pub fn table_columns(fields: &[String], members: usize) -> Vec<String> {
    let mut columns = fields.to_vec();
    if members > 1 {
        columns.extend(fields.iter().map(|f| format!("spread({f})")));
    }
    columns
}

impl Surrogate {
    /// Every rank (a collective call): score a predicted frame at this rank's locations against
    /// the solver's values there (`solver`, absent: spreads only), all `[N][C]` in physical units.
    /// `predicted` is the prediction, or with an ensemble its mean, and `std` the ensemble's
    /// standard deviation (absent without an ensemble).
    pub fn score_on(&self, comm: &mut dyn Communicator, solver: Option<&[f64]>, predicted: &[f64], std: Option<&[f64]>) -> Result<Scores> {
        let m = self.manifest();
        let components: Vec<usize> = m.fields.iter().map(|f| f.components).collect();
        // The lengths are the host's own arrays' (the same on every rank for a well-formed host);
        // checked before any collective so that none is left waiting.
        for (what, v) in [("solver values", solver), ("prediction", Some(predicted)), ("ensemble std", std)] {
            if let Some(v) = v {
                if v.len() != predicted.len() || v.len() % self.channels().max(1) != 0 {
                    return Err(err!(FieldShape, "{what}: {} values are not [N][{}] like the prediction's {}", v.len(), self.channels(), predicted.len()));
                }
            }
        }
        let errors = match solver {
            Some(s) => relative_l2(comm, &components, predicted, Some(s), s),
            None => vec![],
        };
        let spreads = match std {
            Some(sd) => relative_l2(comm, &components, sd, None, predicted),
            None => vec![],
        };
        Ok(Scores { fields: m.fields.iter().map(|f| f.name.clone()).collect(), errors, spreads })
    }
}

/// `x` as C's `printf("%g")` (and a C++ stream's default) writes it: 6 significant digits, trailing
/// zeros dropped, exponent form below 1e-4 and from 1e6. The hosts' logs and the core's messages
/// print numbers this way, so they read the same whichever side worded them.
pub fn g6(x: f64) -> String {
    const P: i32 = 6;
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // The exponent after rounding to P digits decides the form (9.999995 rounds up to 10).
    let e = format!("{:.*e}", (P - 1) as usize, x);
    let (mantissa, exp) = e.split_once('e').expect("Rust's {:e} has an exponent");
    let exp: i32 = exp.parse().expect("Rust's {:e} exponent is an integer");
    if (-4..P).contains(&exp) {
        trim_zeros(format!("{:.*}", (P - 1 - exp) as usize, x))
    } else {
        format!("{}e{}{:02}", trim_zeros(mantissa.to_string()), if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// `1.500` -> `1.5`, `2.000` -> `2`; integers stay as they are.
fn trim_zeros(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributed::SingleRank;

    /// Two ranks in one process: rank 0's and rank 1's parts of a sum, as an MPI host would pass
    /// them (the gather on rank 0 returns both; the broadcast returns what rank 0 passed).
    struct TwoRanks {
        other: Vec<f64>,
    }

    impl Communicator for TwoRanks {
        fn rank(&self) -> usize {
            0
        }
        fn ranks(&self) -> usize {
            2
        }
        fn gather(&mut self, local: &[f64]) -> Vec<f64> {
            [local, &self.other].concat()
        }
        fn broadcast(&mut self, data: &[f64]) -> Vec<f64> {
            data.to_vec()
        }
    }

    #[test]
    fn g6_writes_numbers_as_printf() {
        // Expected values: Python's '%g' % x, which is C's.
        for (x, s) in [
            (0.1, "0.1"),
            (1.6, "1.6"),
            (5.0, "5"),
            (-1.0, "-1"),
            (-0.5, "-0.5"),
            (0.012345678, "0.0123457"),
            (1.0 / 3.0, "0.333333"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012345678, "0.000123457"),
            (9.9999996, "10"),
            (999999.6, "1e+06"),
            (2.5e-300, "2.5e-300"),
            (1e100, "1e+100"),
            (0.0, "0"),
            (0.45, "0.45"),
            (1e-3, "0.001"),
        ] {
            assert_eq!(g6(x), s, "{x}");
        }
        assert_eq!(g6(f64::NAN), "nan");
        assert_eq!(g6(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn relative_l2_per_field_over_ranks() {
        // Two fields: a scalar and a 2-component vector, 2 locations on this rank.
        let comps = [1, 2];
        let a = [1.0, 3.0, 4.0, 0.0, 0.0, 0.0];
        let b = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let reference = [2.0, 0.0, 5.0, 0.0, 0.0, 0.0];
        let r = relative_l2(&mut SingleRank, &comps, &a, Some(&b), &reference);
        assert_eq!(r, vec![0.5, 1.0]);
        // Without b: a's own norm. A zero reference has no scale: undefined, unless a is zero too.
        let r = relative_l2(&mut SingleRank, &comps, &a, None, &[0.0; 6]);
        assert!(r[0].is_nan() && r[1].is_nan(), "{r:?}");
        assert_eq!(relative_l2(&mut SingleRank, &comps, &[0.0; 6], None, &[0.0; 6]), vec![0.0, 0.0]);
        // A zero reference on this rank only is not zero over the ranks.
        let mut two = TwoRanks { other: vec![1.0, 4.0, 0.0, 0.0] };
        let r = relative_l2(&mut two, &comps, &a, Some(&b), &[0.0; 6]);
        assert_eq!(r[0], 2f64.sqrt() / 2.0);
        assert!(r[1].is_nan());
        // Another rank's sums add in: num 1 + 3, den 4 + 12 for the scalar.
        let mut two = TwoRanks { other: vec![3.0, 12.0, 0.0, 0.0] };
        let r = relative_l2(&mut two, &comps, &a, Some(&b), &reference);
        assert_eq!(r[0], 0.5);
        assert_eq!(r[1], 25f64.sqrt() / 25f64.sqrt());
    }

    #[test]
    fn the_sums_are_the_function_objects() {
        // The order the function object summed in (cells, then components), so its numbers stay.
        let comps = [2];
        let a = [0.1, 0.2, 0.3, 0.7];
        let reference = [1.1, 1.3, 0.9, 0.2];
        let (mut num, mut den) = (0.0, 0.0);
        for j in 0..4 {
            num += a[j] * a[j];
            den += reference[j] * reference[j];
        }
        assert_eq!(relative_l2(&mut SingleRank, &comps, &a, None, &reference), vec![f64::sqrt(num) / f64::sqrt(den)]);
    }

    fn scores(spreads: Vec<f64>) -> Scores {
        Scores { fields: vec!["U".into(), "T".into()], errors: vec![0.25, 0.0123456789], spreads }
    }

    #[test]
    fn the_table_says_what_its_columns_are() {
        let fields = ["U".to_string(), "T".to_string()];
        assert_eq!(table_title(1), "relative L2 error of the prediction");
        assert_eq!(
            table_title(4),
            "relative L2 error of the ensemble mean (4 members) per field, then the relative ensemble spread spread(<field>) = RMS(std)/RMS(mean)"
        );
        assert_eq!(table_columns(&fields, 1), ["U", "T"]);
        assert_eq!(table_columns(&fields, 4), ["U", "T", "spread(U)", "spread(T)"]);
    }

    #[test]
    fn summary_names_each_field() {
        assert_eq!(scores(vec![]).summary(0.1, 0.1), "t = 0.1, lead 0.1: relative L2 error U 0.25 T 0.0123457");
        assert_eq!(scores(vec![0.5, 0.04]).summary(1.2, 0.3), "t = 1.2, lead 0.3: relative L2 error U 0.25 T 0.0123457, ensemble spread U 0.5 T 0.04");
        let zero = Scores { errors: vec![f64::NAN, 0.1], ..scores(vec![f64::NAN, 0.2]) };
        assert_eq!(
            zero.summary(0.1, 0.1),
            "t = 0.1, lead 0.1: relative L2 error U nan T 0.1, ensemble spread U nan T 0.2 (error nan: the solver's field is zero, so no relative error is defined) (spread nan: the ensemble mean is zero)"
        );
        assert_eq!(zero.worst_spread(0.1), Some(1), "nan exceeds nothing");
    }

    #[test]
    fn max_spread_stops_at_the_worst_field() {
        let s = scores(vec![0.5, 0.7]);
        assert_eq!(s.worst_spread(0.45), Some(1));
        assert_eq!(s.worst_spread(0.6), Some(1));
        assert_eq!(s.worst_spread(0.7), None, "equal to the threshold is within it");
        assert_eq!(scores(vec![0.7, 0.7]).worst_spread(0.1), Some(0), "the first of equals");
        assert_eq!(s.stop_reason(0.2, 0.45).unwrap(), "at t = 0.2 the ensemble spread of T is 0.7 > maxSpread 0.45: the surrogate stops forecasting.");
        assert_eq!(s.stop_reason(0.2, 0.8), None);
        assert_eq!(s.stop_reason(0.2, -1.0), None, "no threshold");
        assert_eq!(scores(vec![]).stop_reason(0.2, 0.1), None, "no ensemble");
    }
}
