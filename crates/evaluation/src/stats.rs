//! The statistics the evaluation needs, written out so that each formula is visible and tested
//! against hand-worked examples (docs/evaluation.md gives the maths).

// Matrix code reads most clearly with the indices of the formulas it implements.
#![allow(clippy::needless_range_loop)]

/// A logistic regression fitted by Newton–Raphson (iteratively reweighted least squares).
///
/// Columns are standardised before fitting (mean 0, SD 1) for a well-conditioned Hessian, and a
/// tiny ridge penalty (`1e-6` on the standardised slopes) keeps the fit finite when a covariate
/// separates the groups perfectly, which small matched designs can do.
#[derive(Debug, Clone, PartialEq)]
pub struct Logistic {
    /// Intercept then one slope per column, on the original scale of the columns.
    pub coefficients: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

/// Solves `a x = b` for a symmetric positive definite `a` (Cholesky); `None` if `a` is not.
#[must_use]
pub fn solve_spd(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Logistic {
    /// Fits `P(y = 1 | x) = 1 / (1 + exp(-(b0 + b·x)))` to the rows `x` (all the same length).
    #[must_use]
    pub fn fit(x: &[Vec<f64>], y: &[bool]) -> Self {
        let p = x.first().map_or(0, Vec::len);
        let n = x.len().max(1) as f64;
        let mean: Vec<f64> = (0..p)
            .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / n)
            .collect();
        let sd: Vec<f64> = (0..p)
            .map(|j| {
                let v = x.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n;
                if v > 1e-12 {
                    v.sqrt()
                } else {
                    1.0
                }
            })
            .collect();
        let z = |r: &[f64], j: usize| {
            if j == 0 {
                1.0
            } else {
                (r[j - 1] - mean[j - 1]) / sd[j - 1]
            }
        };
        let k = p + 1;
        let mut beta = vec![0.0; k];
        let mut converged = false;
        let mut iterations = 0;
        for _ in 0..50 {
            iterations += 1;
            let mut grad = vec![0.0; k];
            let mut hess = vec![vec![0.0; k]; k];
            for (r, &yi) in x.iter().zip(y) {
                let eta: f64 = (0..k).map(|j| beta[j] * z(r, j)).sum();
                let mu = sigmoid(eta);
                let w = (mu * (1.0 - mu)).max(1e-10);
                let resid = f64::from(u8::from(yi)) - mu;
                for a in 0..k {
                    let za = z(r, a);
                    grad[a] += za * resid;
                    for b in 0..=a {
                        hess[a][b] += w * za * z(r, b);
                    }
                }
            }
            for a in 0..k {
                for b in 0..a {
                    hess[b][a] = hess[a][b];
                }
                if a > 0 {
                    hess[a][a] += 1e-6;
                    grad[a] -= 1e-6 * beta[a];
                }
            }
            let Some(step) = solve_spd(&hess, &grad) else {
                break;
            };
            let size: f64 = step.iter().map(|s| s.abs()).fold(0.0, f64::max);
            for (b, s) in beta.iter_mut().zip(&step) {
                *b += s;
            }
            if size < 1e-10 {
                converged = true;
                break;
            }
        }
        // Back to the original scale: b_j = beta_j / sd_j and b0 = beta_0 - sum(b_j * mean_j).
        let mut coefficients = vec![0.0; k];
        for j in 1..k {
            coefficients[j] = beta[j] / sd[j - 1];
        }
        coefficients[0] = beta[0] - (1..k).map(|j| coefficients[j] * mean[j - 1]).sum::<f64>();
        Self {
            coefficients,
            iterations,
            converged,
        }
    }

    /// The linear predictor (the logit of the score) for one row.
    #[must_use]
    pub fn logit(&self, row: &[f64]) -> f64 {
        self.coefficients[0]
            + row
                .iter()
                .zip(&self.coefficients[1..])
                .map(|(x, b)| x * b)
                .sum::<f64>()
    }
}

/// Running weighted sums for a mean and a variance.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub weight: f64,
    pub sum: f64,
    pub sum_sq: f64,
}

impl Moments {
    pub fn add(&mut self, x: f64, w: f64) {
        self.weight += w;
        self.sum += w * x;
        self.sum_sq += w * x * x;
    }

    #[must_use]
    pub fn mean(&self) -> f64 {
        if self.weight > 0.0 {
            self.sum / self.weight
        } else {
            0.0
        }
    }

    /// The weighted population variance, `sum w (x - mean)^2 / sum w`.
    #[must_use]
    pub fn variance(&self) -> f64 {
        if self.weight > 0.0 {
            (self.sum_sq / self.weight - self.mean().powi(2)).max(0.0)
        } else {
            0.0
        }
    }
}

/// The standardised mean difference `(mean_t - mean_c) / sqrt((var_t + var_c) / 2)`, with the
/// variances given (the report uses the variances before matching for both columns, so that a
/// change in the SMD is a change in the means only). Zero when both variances are zero.
#[must_use]
pub fn smd(mean_t: f64, mean_c: f64, var_t: f64, var_c: f64) -> f64 {
    let pooled = ((var_t + var_c) / 2.0).sqrt();
    if pooled > 0.0 {
        (mean_t - mean_c) / pooled
    } else {
        0.0
    }
}

/// The `q`-quantile (0..=1) of the finite `values` by linear interpolation between order
/// statistics (the "type 7" definition most statistics packages use by default); NaN when none.
#[must_use]
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_with_one_binary_covariate_matches_the_closed_form() {
        // With one 0/1 covariate the maximum likelihood fit is exact: b0 = logit(p0) and
        // b1 = logit(p1) - logit(p0), where p0 and p1 are the shares of y = 1 in each group.
        // Group 0: 2 of 8 have y = 1 (p0 = 0.25); group 1: 6 of 8 (p1 = 0.75).
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..8 {
            x.push(vec![0.0]);
            y.push(i < 2);
            x.push(vec![1.0]);
            y.push(i < 6);
        }
        let fit = Logistic::fit(&x, &y);
        assert!(fit.converged);
        let logit = |p: f64| (p / (1.0 - p)).ln();
        assert!((fit.coefficients[0] - logit(0.25)).abs() < 1e-5, "{fit:?}");
        assert!((fit.coefficients[1] - (logit(0.75) - logit(0.25))).abs() < 1e-5);
        assert!((fit.logit(&[1.0]) - logit(0.75)).abs() < 1e-5);
    }

    #[test]
    fn cholesky_solves_a_small_system() {
        // [4 2; 2 3] x = [2; 1] has x = [0.5, 0].
        let x = solve_spd(&[vec![4.0, 2.0], vec![2.0, 3.0]], &[2.0, 1.0]).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12);
        assert!(solve_spd(&[vec![0.0]], &[1.0]).is_none());
    }

    #[test]
    fn smd_and_moments_match_hand_working() {
        // Treated 1, 2, 3: mean 2, variance 2/3. Comparators 0, 2: mean 1, variance 1.
        let mut t = Moments::default();
        for x in [1.0, 2.0, 3.0] {
            t.add(x, 1.0);
        }
        let mut c = Moments::default();
        c.add(0.0, 0.5);
        c.add(2.0, 0.5);
        assert!((t.variance() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.mean() - 1.0).abs() < 1e-12 && (c.variance() - 1.0).abs() < 1e-12);
        let expect = 1.0 / ((2.0 / 3.0 + 1.0) / 2.0_f64).sqrt();
        assert!((smd(t.mean(), c.mean(), t.variance(), c.variance()) - expect).abs() < 1e-12);
        assert_eq!(smd(1.0, 1.0, 0.0, 0.0), 0.0);
    }

    #[test]
    fn quantiles_interpolate_like_type_7() {
        let v = [4.0, 1.0, 3.0, 2.0, 5.0, f64::NAN];
        assert!((quantile(&v, 0.5) - 3.0).abs() < 1e-12);
        assert!((quantile(&v, 0.25) - 2.0).abs() < 1e-12);
        assert!((quantile(&v, 0.1) - 1.4).abs() < 1e-12);
    }
}
