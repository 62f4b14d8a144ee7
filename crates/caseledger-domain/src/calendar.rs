//! 工作日历 — the working-day calendar: weekends, public holidays and make-up working days
//! (调休), loaded from one TOML file per year under `ops/calendar/`.
//!
//! A day is a working day when it is a make-up working day, or when it is neither a weekend
//! day nor a public holiday. The calendar knows which years it was given
//! ([`WorkCalendar::covers`]); deadline computations refuse to run across a year it does not
//! know rather than guess.
//!
//! File format:
//!
//! ```toml
//! year = 2026
//! sample = true                 # not yet checked against the State Council notice
//! source = "国务院办公厅关于2026年部分节假日安排的通知"
//!
//! [[holiday]]                   # one day (date) or a run of days (from, to), inclusive
//! name = "春节"
//! from = 2026-02-15
//! to = 2026-02-23
//!
//! [[makeup]]                    # 调休上班 — a weekend day that is a working day
//! name = "春节调休上班"
//! date = 2026-02-14
//! ```
//!
//! ```
//! use caseledger_domain::{calendar::WorkCalendar, Source};
//! use chrono::NaiveDate;
//!
//! let text = "year = 2026\n[[holiday]]\nname = \"元旦\"\nfrom = 2026-01-01\nto = 2026-01-03\n\
//!             [[makeup]]\nname = \"元旦调休上班\"\ndate = 2026-01-04\n";
//! let calendar = WorkCalendar::from_sources(&[Source { name: "2026.toml", text }]).unwrap();
//! let day = |d| NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
//! assert!(!calendar.is_working_day(day(2)));  // holiday
//! assert!(calendar.is_working_day(day(4)));   // Sunday, made up
//! assert!(!calendar.is_working_day(day(10))); // Saturday
//! ```

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use toml::Spanned;

use crate::load::{line_at_offset, parse_toml, LoadError, LoadErrorKind, Source};

/// The longest run of holidays accepted in one `[[holiday]]` entry, in days.
pub const HOLIDAY_RUN_DAYS_MAX: i64 = 15;

/// What kind of day a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// An ordinary weekday.
    Workday,
    /// 调休上班 — a weekend day worked in exchange for a holiday.
    MakeupWorkday,
    /// Saturday or Sunday.
    Weekend,
    /// 法定节假日 — a public holiday (including the days bridged to it).
    Holiday,
}

/// The working-day calendar of the years it was loaded with.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    years: BTreeMap<i32, YearInfo>,
    holidays: BTreeMap<NaiveDate, String>,
    makeups: BTreeMap<NaiveDate, String>,
}

/// What the calendar knows about one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearInfo {
    /// True when the year's file is a sample not yet checked against the State Council notice.
    pub sample: bool,
    /// The notice (or other source) the year was taken from.
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: Spanned<i32>,
    #[serde(default)]
    sample: bool,
    #[serde(default)]
    source: String,
    #[serde(default)]
    holiday: Vec<RawHoliday>,
    #[serde(default)]
    makeup: Vec<RawMakeup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: String,
    date: Option<Spanned<toml::value::Datetime>>,
    from: Option<Spanned<toml::value::Datetime>>,
    to: Option<Spanned<toml::value::Datetime>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMakeup {
    name: String,
    date: Spanned<toml::value::Datetime>,
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A TOML local date (`2026-02-15`) as a [`NaiveDate`], with the line for errors.
fn date_of(
    source: &Source<'_>,
    field: &str,
    value: &Spanned<toml::value::Datetime>,
) -> Result<(NaiveDate, usize), LoadError> {
    let line = line_at_offset(source.text, value.span().start);
    let datetime = value.get_ref();
    let wrong = |reason: &str| {
        LoadError::at(
            source,
            line,
            LoadErrorKind::Value {
                field: field.into(),
                reason: reason.into(),
            },
        )
    };
    if datetime.time.is_some() || datetime.offset.is_some() {
        return Err(wrong(
            "must be a plain date such as 2026-02-15, without time or offset",
        ));
    }
    let date = datetime.date.ok_or_else(|| wrong("missing date"))?;
    let parsed = NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )
    .ok_or_else(|| wrong("not a calendar date"))?;
    Ok((parsed, line))
}

impl WorkCalendar {
    /// Parses and validates one file per year. Errors name the file and line: a date outside
    /// the file's year, a year given twice, a date both holiday and make-up day, a make-up day
    /// that is not a weekend day, a holiday given twice, a run that ends before it starts.
    pub fn from_sources(sources: &[Source<'_>]) -> Result<WorkCalendar, LoadError> {
        let mut calendar = WorkCalendar::default();
        let mut year_origin: BTreeMap<i32, String> = BTreeMap::new();
        for source in sources {
            let raw: RawYear = parse_toml(source)?;
            let year = *raw.year.get_ref();
            let year_line = line_at_offset(source.text, raw.year.span().start);
            if !(2000..=2100).contains(&year) {
                return Err(LoadError::at(
                    source,
                    year_line,
                    LoadErrorKind::Value {
                        field: "year".into(),
                        reason: format!("{year} is outside 2000..=2100"),
                    },
                ));
            }
            if let Some(first) = year_origin.get(&year) {
                return Err(LoadError::at(
                    source,
                    year_line,
                    LoadErrorKind::DuplicateId {
                        id: year.to_string(),
                        first: first.clone(),
                    },
                ));
            }
            year_origin.insert(year, format!("{}:{year_line}", source.name));
            calendar.load_year(source, year, raw)?;
        }
        Ok(calendar)
    }

    fn load_year(&mut self, source: &Source<'_>, year: i32, raw: RawYear) -> Result<(), LoadError> {
        let check_year = |date: NaiveDate, line: usize, field: &str| {
            if date.year() == year {
                Ok(())
            } else {
                Err(LoadError::at(
                    source,
                    line,
                    LoadErrorKind::Value {
                        field: field.into(),
                        reason: format!("{date} is not in {year}"),
                    },
                ))
            }
        };
        for holiday in raw.holiday {
            let (first, last, line) = match (&holiday.date, &holiday.from, &holiday.to) {
                (Some(date), None, None) => {
                    let (date, line) = date_of(source, "date", date)?;
                    (date, date, line)
                }
                (None, Some(from), Some(to)) => {
                    let (from, line) = date_of(source, "from", from)?;
                    let (to, to_line) = date_of(source, "to", to)?;
                    if to < from || (to - from).num_days() >= HOLIDAY_RUN_DAYS_MAX {
                        return Err(LoadError::at(
                            source,
                            to_line,
                            LoadErrorKind::Value {
                                field: "to".into(),
                                reason: format!("the run {from}..={to} must go forward and last at most {HOLIDAY_RUN_DAYS_MAX} days"),
                            },
                        ));
                    }
                    (from, to, line)
                }
                _ => {
                    return Err(LoadError::near(
                        source,
                        &holiday.name,
                        LoadErrorKind::Value {
                            field: "holiday".into(),
                            reason: format!(
                                "{:?} needs either `date` or both `from` and `to`",
                                holiday.name
                            ),
                        },
                    ))
                }
            };
            check_year(first, line, "holiday")?;
            check_year(last, line, "holiday")?;
            for date in first.iter_days().take_while(|date| *date <= last) {
                if let Some(other) = self.holidays.insert(date, holiday.name.clone()) {
                    return Err(LoadError::at(
                        source,
                        line,
                        LoadErrorKind::Value {
                            field: "holiday".into(),
                            reason: format!("{date} is already a holiday ({other})"),
                        },
                    ));
                }
            }
        }
        for makeup in raw.makeup {
            let (date, line) = date_of(source, "date", &makeup.date)?;
            check_year(date, line, "makeup")?;
            let reason = if !is_weekend(date) {
                Some(format!(
                    "{date} is a {}, not a weekend day; only a weekend day can be made up",
                    date.weekday()
                ))
            } else if let Some(holiday) = self.holidays.get(&date) {
                Some(format!("{date} is also a holiday ({holiday})"))
            } else if self.makeups.contains_key(&date) {
                Some(format!("{date} is already a make-up working day"))
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(LoadError::at(
                    source,
                    line,
                    LoadErrorKind::Value {
                        field: "makeup".into(),
                        reason,
                    },
                ));
            }
            self.makeups.insert(date, makeup.name);
        }
        self.years.insert(
            year,
            YearInfo {
                sample: raw.sample,
                source: raw.source,
            },
        );
        Ok(())
    }

    /// The kind of a day. Outside the loaded years only weekends are known; see
    /// [`WorkCalendar::covers`].
    pub fn day_kind(&self, date: NaiveDate) -> DayKind {
        if self.makeups.contains_key(&date) {
            DayKind::MakeupWorkday
        } else if self.holidays.contains_key(&date) {
            DayKind::Holiday
        } else if is_weekend(date) {
            DayKind::Weekend
        } else {
            DayKind::Workday
        }
    }

    /// True when `date` is a working day: a make-up working day, or neither weekend nor
    /// holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        matches!(
            self.day_kind(date),
            DayKind::Workday | DayKind::MakeupWorkday
        )
    }

    /// True when the calendar was loaded with the year of `date`.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.years.contains_key(&date.year())
    }

    /// The years loaded, with whether each is a sample.
    pub fn years(&self) -> impl Iterator<Item = (i32, &YearInfo)> {
        self.years.iter().map(|(year, info)| (*year, info))
    }

    /// The holiday's name, if `date` is a holiday.
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&str> {
        self.holidays.get(&date).map(String::as_str)
    }

    /// The holidays of the loaded years, in date order.
    pub fn holidays(&self) -> impl Iterator<Item = (NaiveDate, &str)> {
        self.holidays
            .iter()
            .map(|(date, name)| (*date, name.as_str()))
    }

    /// The make-up working days of the loaded years, in date order.
    pub fn makeup_days(&self) -> BTreeSet<NaiveDate> {
        self.makeups.keys().copied().collect()
    }
}
