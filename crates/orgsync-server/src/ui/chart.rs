//! Line charts drawn as inline SVG on the server, so they need no script
//! and pass the Content-Security-Policy: colors come from classes in the
//! stylesheet, never from `style` attributes.
//!
//! Points are spaced evenly in run order, not by time, so that runs close
//! together stay apart. Each point has a tooltip (an SVG `title`) with its
//! label and value, and the chart has a text summary for screen readers.

use maud::{html, Markup};

/// The drawing area, in SVG user units.
const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
/// The number of grid steps the axis aims for above the zero line.
const GRID_STEPS: f64 = 4.0;

/// One line of a chart.
pub struct Series {
    pub name: &'static str,
    /// 1, 2 or 3: picks the color classes `series-N` and `dot-N`.
    pub color: u8,
    /// One value per point; `None` leaves a gap.
    pub values: Vec<Option<f64>>,
}

/// A chart over points in order.
pub struct LineChart<'a> {
    /// The id prefix of the chart's title and summary; unique on the page.
    pub id: &'a str,
    pub title: &'a str,
    /// The label of each point, such as its run's start time.
    pub labels: &'a [String],
    pub series: Vec<Series>,
    /// Formats a value for the axis and the tooltips.
    pub format: fn(f64) -> String,
}

impl LineChart<'_> {
    /// Draws the chart, with a legend when it has several lines.
    pub fn render(&self) -> Markup {
        let points = self.labels.len();
        let max = self
            .series
            .iter()
            .flat_map(|series| series.values.iter().flatten().copied())
            .fold(0.0_f64, f64::max);
        let (step, steps) = axis_steps(max);
        let top = step * f64::from(steps);
        let x = |index: usize| -> f64 {
            if points <= 1 {
                LEFT + (WIDTH - LEFT - RIGHT) / 2.0
            } else {
                LEFT + (WIDTH - LEFT - RIGHT) * index as f64 / (points - 1) as f64
            }
        };
        let y = |value: f64| -> f64 { TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - value / top) };
        let title_id = format!("{}-title", self.id);
        let summary_id = format!("{}-summary", self.id);

        html! {
            figure class="card" {
                figcaption class="chart-title" id=(title_id) { (self.title) }
                svg class="chart" viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img"
                    aria-labelledby=(title_id) aria-describedby=(summary_id) {
                    desc id=(summary_id) { (self.summary()) }
                    @for index in 0..=steps {
                        @let value = step * f64::from(index);
                        line class="grid" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(coordinate(y(value))) y2=(coordinate(y(value))) {}
                        text x=(LEFT - 6.0) y=(coordinate(y(value) + 4.0)) text-anchor="end" { ((self.format)(value)) }
                    }
                    @for (index, label) in self.axis_labels() {
                        text x=(coordinate(x(index))) y=(HEIGHT - 8.0) text-anchor=(anchor(index, points)) { (label) }
                    }
                    @for series in &self.series {
                        @for segment in segments(&series.values) {
                            polyline class={ "series series-" (series.color) }
                                points=(segment.iter().map(|&(index, value)| format!("{},{}", coordinate(x(index)), coordinate(y(value)))).collect::<Vec<_>>().join(" ")) {}
                        }
                        @for (index, value) in series.values.iter().enumerate() {
                            @if let Some(value) = value {
                                circle class={ "dot-" (series.color) } cx=(coordinate(x(index))) cy=(coordinate(y(*value))) r="3.5" {
                                    title { (self.labels.get(index).map_or("", String::as_str)) ": " (series.name) " " ((self.format)(*value)) }
                                }
                            }
                        }
                    }
                }
                @if self.series.len() > 1 {
                    ul class="legend" {
                        @for series in &self.series {
                            li { span class={ "swatch swatch-" (series.color) } aria-hidden="true" {} (series.name) }
                        }
                    }
                }
            }
        }
    }

    /// Writes a sentence with the range of points and each line's latest and
    /// highest value.
    fn summary(&self) -> String {
        let (Some(first), Some(last)) = (self.labels.first(), self.labels.last()) else {
            return "No data.".to_string();
        };
        let mut text = format!("{} points, from {first} to {last}.", self.labels.len());
        for series in &self.series {
            let values: Vec<f64> = series.values.iter().flatten().copied().collect();
            if let Some(latest) = values.last() {
                let highest = values.iter().copied().fold(0.0_f64, f64::max);
                text.push_str(&format!(
                    " {}: latest {}, highest {}.",
                    series.name,
                    (self.format)(*latest),
                    (self.format)(highest)
                ));
            }
        }
        text
    }

    /// Picks the first, middle and last labels for the x axis.
    fn axis_labels(&self) -> Vec<(usize, String)> {
        let points = self.labels.len();
        let mut indexes = vec![0, points / 2, points.saturating_sub(1)];
        indexes.dedup();
        indexes
            .into_iter()
            .filter(|index| *index < points)
            .map(|index| (index, self.labels[index].clone()))
            .collect()
    }
}

/// Splits the values into runs of consecutive present values, with their
/// indexes.
fn segments(values: &[Option<f64>]) -> Vec<Vec<(usize, f64)>> {
    let mut segments = Vec::new();
    let mut current = Vec::new();
    for (index, value) in values.iter().enumerate() {
        match value {
            Some(value) => current.push((index, *value)),
            None if !current.is_empty() => segments.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    segments
}

/// Picks the grid step and the number of steps for values up to `max`:
/// the step is 1, 2 or 5 times a power of ten, at least 1, so that the
/// labels are round numbers, and there are at most [`GRID_STEPS`] steps.
pub fn axis_steps(max: f64) -> (f64, u32) {
    if !max.is_finite() || max <= 0.0 {
        return (1.0, 1);
    }
    let rough = (max / GRID_STEPS).max(1.0);
    let magnitude = 10_f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|factor| factor * magnitude)
        .find(|candidate| *candidate >= rough)
        .unwrap_or(10.0 * magnitude);
    // At most GRID_STEPS by the choice of step, so the cast cannot truncate.
    let steps = (max / step).ceil().max(1.0) as u32;
    (step, steps)
}

/// Formats an SVG coordinate with one decimal.
fn coordinate(value: f64) -> String {
    format!("{value:.1}")
}

fn anchor(index: usize, points: usize) -> &'static str {
    if points <= 1 {
        "middle"
    } else if index == 0 {
        "start"
    } else if index + 1 == points {
        "end"
    } else {
        "middle"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(values: Vec<Option<f64>>) -> String {
        let labels: Vec<String> = (0..values.len())
            .map(|index| format!("run {index}"))
            .collect();
        LineChart {
            id: "duration",
            title: "Duration",
            labels: &labels,
            series: vec![Series {
                name: "Duration",
                color: 1,
                values,
            }],
            format: |value| format!("{value:.0} s"),
        }
        .render()
        .into_string()
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(axis_steps(0.0), (1.0, 1));
        assert_eq!(axis_steps(3.0), (1.0, 3));
        assert_eq!(axis_steps(44.0), (20.0, 3));
        assert_eq!(axis_steps(290.0), (100.0, 3));
        assert_eq!(axis_steps(20_000.0), (5000.0, 4));
        assert_eq!(axis_steps(4100.0), (2000.0, 3));
    }

    #[test]
    fn points_have_tooltips() {
        let svg = chart(vec![Some(4.0), Some(8.0)]);
        assert!(svg.contains("<title>run 1: Duration 8 s</title>"));
        assert_eq!(svg.matches("<circle").count(), 2);
    }

    #[test]
    fn highest_point_touches_the_top() {
        let svg = chart(vec![Some(5.0), Some(8.0)]);
        // 8 is 4 steps of 2, so its point sits on the top grid line.
        assert!(svg.contains(&format!("cy=\"{TOP:.1}\"")));
    }

    #[test]
    fn gaps_split_the_line() {
        let svg = chart(vec![Some(1.0), None, Some(2.0), Some(3.0)]);
        assert_eq!(svg.matches("<polyline").count(), 2);
    }

    #[test]
    fn summary_names_latest_and_highest() {
        let svg = chart(vec![Some(9.0), Some(3.0)]);
        assert!(svg.contains("2 points, from run 0 to run 1. Duration: latest 3 s, highest 9 s."));
    }

    #[test]
    fn empty_chart_says_no_data() {
        let svg = chart(Vec::new());
        assert!(svg.contains("No data."));
    }
}
