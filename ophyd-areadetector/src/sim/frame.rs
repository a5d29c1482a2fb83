//! The simulated arrays: what the camera makes ([`Frame::pattern`]), what
//! NDStats computes of one ([`Statistics`]) and what NDROI cuts out
//! ([`Region`]).

use crate::DataType;

/// One two-dimensional array, as it goes from the camera to the plugins.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// The element type.
    pub data_type: DataType,
    /// The elements, row by row, each a value of `data_type`.
    pub pixels: Vec<f64>,
    /// The camera's `ArrayCounter` when it made the frame.
    pub unique_id: i32,
    /// When it was made, Unix seconds.
    pub timestamp: f64,
}

impl Frame {
    /// The simulated detector's image: the element at column `x`, row `y`
    /// of the region is `gain × (min_x + x + min_y + y + unique_id)`, held
    /// as `data_type` holds it (rounded toward zero, saturated). So a test
    /// can predict every statistic of it.
    ///
    /// ```
    /// use ophyd_areadetector::sim::Frame;
    /// use ophyd_areadetector::DataType;
    /// let frame = Frame::pattern(3, 2, (0, 0), 2.0, DataType::UInt16, 1);
    /// assert_eq!(frame.pixels, [2.0, 4.0, 6.0, 4.0, 6.0, 8.0]);
    /// ```
    pub fn pattern(
        width: usize,
        height: usize,
        origin: (usize, usize),
        gain: f64,
        data_type: DataType,
        unique_id: i32,
    ) -> Frame {
        let pixels = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| data_type.hold(gain * ((origin.0 + x + origin.1 + y) as f64 + f64::from(unique_id))))
            .collect();
        Frame { width, height, data_type, pixels, unique_id, timestamp: ophyd_core::now() }
    }

    /// The element at column `x`, row `y`.
    pub fn at(&self, x: usize, y: usize) -> f64 {
        self.pixels[y * self.width + x]
    }
}

/// What NDStats computes of a frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Statistics {
    /// Sum of the elements.
    pub total: f64,
    /// The least element.
    pub min: f64,
    /// The greatest element.
    pub max: f64,
    /// Where the least element first is, column and row.
    pub min_xy: (f64, f64),
    /// Where the greatest element first is.
    pub max_xy: (f64, f64),
    /// The mean.
    pub mean: f64,
    /// The standard deviation (of the population).
    pub sigma: f64,
    /// The total less the background: the mean of the `bgd_width` edge
    /// rows and columns, times the number of elements (no background when
    /// `bgd_width` is 0).
    pub net: f64,
    /// The centroid of the elements at or above the threshold.
    pub centroid: (f64, f64),
    /// Their spread in x and y.
    pub sigma_xy_axes: (f64, f64),
    /// Their x-y correlation.
    pub sigma_xy: f64,
}

impl Statistics {
    /// NDStats' statistics and centroid of `frame`, the centroid over the
    /// elements at or above `threshold`, the background over the
    /// `bgd_width` outermost rows and columns.
    pub fn of(frame: &Frame, bgd_width: usize, threshold: f64) -> Statistics {
        let n = frame.pixels.len();
        if n == 0 {
            return Statistics::default();
        }
        let mut s = Statistics { min: f64::INFINITY, max: f64::NEG_INFINITY, ..Statistics::default() };
        let mut sum_sq = 0.0;
        let (mut w, mut wx, mut wy, mut wxx, mut wyy, mut wxy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        let (mut background, mut edge) = (0.0, 0usize);
        for y in 0..frame.height {
            for x in 0..frame.width {
                let v = frame.at(x, y);
                s.total += v;
                sum_sq += v * v;
                if v < s.min {
                    (s.min, s.min_xy) = (v, (x as f64, y as f64));
                }
                if v > s.max {
                    (s.max, s.max_xy) = (v, (x as f64, y as f64));
                }
                if v >= threshold {
                    let (fx, fy) = (x as f64, y as f64);
                    w += v;
                    wx += v * fx;
                    wy += v * fy;
                    wxx += v * fx * fx;
                    wyy += v * fy * fy;
                    wxy += v * fx * fy;
                }
                let on_edge = x < bgd_width
                    || y < bgd_width
                    || x.saturating_add(bgd_width) >= frame.width
                    || y.saturating_add(bgd_width) >= frame.height;
                if bgd_width > 0 && on_edge {
                    background += v;
                    edge += 1;
                }
            }
        }
        let count = n as f64;
        s.mean = s.total / count;
        s.sigma = (sum_sq / count - s.mean * s.mean).max(0.0).sqrt();
        s.net = if edge == 0 { s.total } else { s.total - background / edge as f64 * count };
        if w != 0.0 {
            let (cx, cy) = (wx / w, wy / w);
            let (sx, sy) = ((wxx / w - cx * cx).max(0.0).sqrt(), (wyy / w - cy * cy).max(0.0).sqrt());
            s.centroid = (cx, cy);
            s.sigma_xy_axes = (sx, sy);
            s.sigma_xy = if sx * sy == 0.0 { 0.0 } else { (wxy / w - cx * cy) / (sx * sy) };
        }
        s
    }
}

/// The region of one dimension that NDROI cuts out: where it starts, how
/// many elements it takes, and how many of them it sums into one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The first element.
    pub min: usize,
    /// Elements taken (before binning).
    pub size: usize,
    /// Elements summed into one.
    pub bin: usize,
}

impl Span {
    /// The span of `min`, `size` and `bin` in a dimension of `length`, as
    /// NDROI clamps them: the start inside, the size to what is left, at
    /// least one element, a bin of at least 1.
    pub fn clamped(length: usize, min: i64, size: i64, bin: i64) -> Span {
        if length == 0 {
            return Span { min: 0, size: 0, bin: 1 };
        }
        let min = usize::try_from(min).unwrap_or(0).min(length - 1);
        let size = usize::try_from(size).unwrap_or(0).clamp(1, length - min);
        let bin = usize::try_from(bin).unwrap_or(1).clamp(1, size);
        Span { min, size, bin }
    }

    /// Elements out.
    pub fn out(&self) -> usize {
        self.size / self.bin
    }
}

/// A region of a frame: a span in x and one in y.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Columns.
    pub x: Span,
    /// Rows.
    pub y: Span,
}

impl Region {
    /// The region cut out of `frame`, binned by summing, each element
    /// divided by `scale`, as `data_type` holds it.
    pub fn cut(&self, frame: &Frame, scale: f64, data_type: DataType) -> Frame {
        let (width, height) = (self.x.out(), self.y.out());
        let mut pixels = Vec::with_capacity(width * height);
        for oy in 0..height {
            for ox in 0..width {
                let mut sum = 0.0;
                for by in 0..self.y.bin {
                    for bx in 0..self.x.bin {
                        sum += frame.at(self.x.min + ox * self.x.bin + bx, self.y.min + oy * self.y.bin + by);
                    }
                }
                pixels.push(data_type.hold(sum / scale));
            }
        }
        Frame { width, height, data_type, pixels, ..frame.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(width: usize, height: usize, pixels: Vec<f64>) -> Frame {
        Frame { width, height, data_type: DataType::Float64, pixels, unique_id: 1, timestamp: 0.0 }
    }

    #[test]
    fn the_pattern_is_the_sum_of_coordinates_and_the_frame_number_times_the_gain() {
        let f = Frame::pattern(8, 4, (0, 0), 1.0, DataType::UInt16, 1);
        // Σx over rows + Σy over columns + 32 × 1
        assert_eq!(f.pixels.iter().sum::<f64>(), 4.0 * 28.0 + 8.0 * 6.0 + 32.0);
        assert_eq!(f.at(7, 3), 11.0);
        let saturated = Frame::pattern(2, 1, (0, 0), 200.0, DataType::UInt8, 1);
        assert_eq!(saturated.pixels, [200.0, 255.0]);
    }

    #[test]
    fn statistics_are_those_of_ndstats() {
        let f = frame(3, 2, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let s = Statistics::of(&f, 0, 0.0);
        assert_eq!((s.total, s.min, s.max, s.mean), (21.0, 1.0, 6.0, 3.5));
        assert_eq!((s.min_xy, s.max_xy), ((0.0, 0.0), (2.0, 1.0)));
        assert!((s.sigma - (35.0f64 / 12.0).sqrt()).abs() < 1e-12);
        assert_eq!(s.net, 21.0, "no background without a background width");
        // Centroid: Σ v·x / Σ v.
        assert!((s.centroid.0 - (2.0 + 6.0 + 5.0 + 12.0) / 21.0).abs() < 1e-12);
        assert!((s.centroid.1 - 15.0 / 21.0).abs() < 1e-12);
        let above = Statistics::of(&f, 0, 6.0);
        assert_eq!(above.centroid, (2.0, 1.0), "only the elements at or above the threshold");
    }

    #[test]
    fn net_takes_away_the_mean_of_the_edges() {
        // A 3x3 frame with 10 in the middle and 1 around it.
        let f = frame(3, 3, vec![1.0, 1.0, 1.0, 1.0, 10.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(Statistics::of(&f, 1, 0.0).net, 18.0 - 9.0);
    }

    #[test]
    fn a_region_is_clamped_cut_and_binned() {
        let f = frame(4, 3, (0..12).map(f64::from).collect());
        let region = Region { x: Span::clamped(4, 1, 100, 1), y: Span::clamped(3, 1, 2, 2) };
        assert_eq!((region.x, region.y.out()), (Span { min: 1, size: 3, bin: 1 }, 1));
        let cut = region.cut(&f, 1.0, DataType::Float64);
        assert_eq!((cut.width, cut.height), (3, 1));
        assert_eq!(cut.pixels, [5.0 + 9.0, 6.0 + 10.0, 7.0 + 11.0]);
        assert_eq!(Span::clamped(4, 9, -1, 0), Span { min: 3, size: 1, bin: 1 });
    }
}
