//! Figures, their targets, and the plain-text tables the benchmark prints.

use std::time::Duration;

/// Whether a figure meets its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Met,
    Missed,
    /// The figure has no target and is printed for context.
    NoTarget,
    /// The figure could not be measured in this run, such as a package that was not built.
    NotMeasured,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::Missed => "MISSED",
            Status::NoTarget => "-",
            Status::NotMeasured => "not measured",
        }
    }
}

/// One printed figure.
#[derive(Clone, Debug)]
pub struct Row {
    pub figure: String,
    pub value: String,
    /// The same figure for the hello-world function, where one exists.
    pub floor: Option<String>,
    /// `value / floor`.
    pub floor_ratio: Option<f64>,
    pub target: String,
    /// The measured quantity divided by the target's limit, so at most 1.0 meets the target.
    pub target_ratio: Option<f64>,
    pub status: Status,
    /// A line printed under the row, such as the spread of a median or the requests by kind.
    pub detail: Option<String>,
}

impl Row {
    /// Creates a figure with no floor and no target.
    pub fn context(figure: impl Into<String>, value: impl Into<String>) -> Row {
        Row {
            figure: figure.into(),
            value: value.into(),
            floor: None,
            floor_ratio: None,
            target: "-".to_owned(),
            target_ratio: None,
            status: Status::NoTarget,
            detail: None,
        }
    }

    /// Creates a figure checked against an upper limit, which `measured <= limit` meets.
    pub fn at_most(
        figure: impl Into<String>,
        value: impl Into<String>,
        measured: f64,
        limit: f64,
        target: impl Into<String>,
    ) -> Row {
        let status = if measured <= limit {
            Status::Met
        } else {
            Status::Missed
        };
        Row {
            target: target.into(),
            target_ratio: Some(measured / limit),
            status,
            ..Row::context(figure, value)
        }
    }

    pub fn with_floor(mut self, floor: impl Into<String>, ratio: f64) -> Row {
        self.floor = Some(floor.into());
        self.floor_ratio = Some(ratio);
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Row {
        self.detail = Some(detail.into());
        self
    }
}

/// Prints a titled table of rows with aligned columns.
pub fn print_section(title: &str, note: Option<&str>, rows: &[Row]) {
    println!();
    println!("== {title}");
    if let Some(note) = note {
        println!("   {note}");
    }
    let header = [
        "figure", "value", "floor", "x floor", "target", "x target", "result",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|row| {
            [
                row.figure.clone(),
                row.value.clone(),
                row.floor.clone().unwrap_or_else(|| "-".to_owned()),
                row.floor_ratio
                    .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
                row.target.clone(),
                row.target_ratio
                    .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}")),
                row.status.as_str().to_owned(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for line in &cells {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    print_cells(&header.map(str::to_owned), &widths);
    for (row, line) in rows.iter().zip(&cells) {
        print_cells(line, &widths);
        if let Some(detail) = &row.detail {
            println!("    {detail}");
        }
    }
}

fn print_cells(cells: &[String; 7], widths: &[usize; 7]) {
    let line: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(cell, width)| format!("{cell:<width$}"))
        .collect();
    println!("  {}", line.join("  ").trim_end());
}

/// Median, minimum, 90th percentile (nearest rank) and maximum of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    pub median: Duration,
    pub min: Duration,
    pub p90: Duration,
    pub max: Duration,
}

impl Spread {
    /// Returns `None` for an empty sample. The median of an even count is the mean of the two
    /// middle values.
    pub fn of(sample: &[Duration]) -> Option<Spread> {
        let mut sorted = sample.to_vec();
        sorted.sort();
        let count = sorted.len();
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        let median = if count % 2 == 1 {
            sorted[count / 2]
        } else {
            (sorted[count / 2 - 1] + sorted[count / 2]) / 2
        };
        let p90_rank = (count * 9).div_ceil(10).max(1);
        Some(Spread {
            median,
            min,
            p90: sorted[p90_rank - 1],
            max,
        })
    }
}

/// Formats a duration in milliseconds with two decimals.
pub fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// Formats a byte count in MiB with two decimals.
pub fn mebibytes(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / MIB)
}

pub const MIB: f64 = 1024.0 * 1024.0;

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn spread_odd_count() {
        let spread = Spread::of(&ms(&[5, 1, 3])).unwrap();
        assert_eq!(spread.median, Duration::from_millis(3));
        assert_eq!(spread.min, Duration::from_millis(1));
        assert_eq!(spread.p90, Duration::from_millis(5));
        assert_eq!(spread.max, Duration::from_millis(5));
    }

    #[test]
    fn spread_even_count() {
        let spread = Spread::of(&ms(&[10, 1, 2, 3, 4, 5, 6, 7, 8, 9])).unwrap();
        assert_eq!(spread.median, Duration::from_micros(5500));
        assert_eq!(spread.p90, Duration::from_millis(9));
        assert_eq!(spread.max, Duration::from_millis(10));
    }

    #[test]
    fn spread_empty() {
        assert_eq!(Spread::of(&[]), None);
    }

    #[test]
    fn at_most_status() {
        assert_eq!(Row::at_most("f", "v", 3.0, 3.0, "t").status, Status::Met);
        assert_eq!(Row::at_most("f", "v", 4.0, 3.0, "t").status, Status::Missed);
    }
}
