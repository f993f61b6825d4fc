"""Files in each CRM vendor's exact export format, written by the tests themselves (no committed binaries).

One writer per vendor file: ``writer(folder) -> VendorFile`` writes the file into ``folder`` and says how
the engine must read it. Every writer is deterministic (its own seeded ``random.Random``) and copies the
vendor's real conventions: header spellings, id formats, date formats, encodings and BOMs, line ends,
quoting, and typed cells in XLSX (datetimes, numbers) and Parquet (timestamps, booleans, int64, doubles).

The data is invented but shaped like a real org's: repeated owners, lookups that point at the same few
accounts, blanks where a CRM leaves fields empty, and a vendor's known oddities (a Salesforce developer
org's opportunities created by a data load after they closed; Pipedrive's stage that stays "Negotiations
Started" when the deal is won; Dynamics' hidden "(Do Not Modify)" columns).
"""

import base64
import csv
import math
import random
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet


@dataclass(frozen=True)
class VendorFile:
    """One written export and what the engine must make of it.

    ``expected_roles``: header -> role the engine must choose (None: must stay a generic attribute).
    ``not_roles``: header -> a role that header must not get. ``excluded``: header -> reason code why
    the column is never analysed. ``outcomes``: deals only, rows that are won / lost / open.
    """

    path: Path
    kind: str
    rows: int
    expected_roles: dict[str, str | None]
    not_roles: dict[str, str] = field(default_factory=dict)
    excluded: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, int] | None = None


# --- shared material: companies, places, people ------------------------------------------------

# sector key -> (words that end a company name, what such a company does)
_SECTORS: dict[str, tuple[tuple[str, ...], str]] = {
    "software": (("Software", "Systems", "Labs", "Technologies"),
                 "builds workflow software for mid-market finance teams"),
    "it_services": (("IT Solutions", "Networks", "Data"),
                    "runs managed IT services for regional hospitals and school districts"),
    "logistics": (("Logistics", "Freight", "Shipping"),
                  "operates cross-dock warehouses and last-mile delivery fleets"),
    "healthcare": (("Health", "Medical Group", "Care"), "runs a network of outpatient clinics"),
    "medical_devices": (("Medical", "Orthopedics", "Devices"), "designs and manufactures orthopedic implants"),
    "banking": (("Bank", "Bancorp"), "is a community bank focused on small-business lending"),
    "financial": (("Capital", "Financial", "Advisors"),
                  "manages retirement plans for small and mid-sized employers"),
    "insurance": (("Insurance", "Mutual", "Assurance"), "underwrites commercial property and casualty insurance"),
    "food": (("Foods", "Farms", "Provisions"), "produces organic snacks sold through grocery chains"),
    "manufacturing": (("Manufacturing", "Industries", "Machine Works", "Fabrication"),
                      "machines precision parts for aerospace suppliers"),
    "energy": (("Energy", "Solar", "Power"), "installs commercial solar and battery storage"),
    "retail": (("Outfitters", "Retail", "Supply"), "operates specialty outdoor-gear stores"),
    "media": (("Media", "Publishing", "Studios"), "publishes trade magazines and runs industry events"),
    "telecom": (("Telecom", "Fiber", "Communications"), "builds and operates rural fiber networks"),
    "construction": (("Construction", "Builders", "Contracting"), "is a general contractor for hospitals and labs"),
    "consulting": (("Consulting", "Partners", "Advisory"), "advises manufacturers on supply-chain strategy"),
    "biotech": (("Bio", "Biosciences", "Therapeutics"), "develops enzyme-based diagnostics"),
    "hospitality": (("Hotels", "Hospitality", "Resorts"), "owns and manages boutique hotels"),
    "education": (("Learning", "Academy", "Education"), "provides online certification courses for nurses"),
}

# The same sectors as each vendor's industry picklist spells them.
_SALESFORCE_INDUSTRY = {
    "software": "Technology", "it_services": "Technology", "logistics": "Transportation",
    "healthcare": "Healthcare", "medical_devices": "Healthcare", "banking": "Banking", "financial": "Finance",
    "insurance": "Insurance", "food": "Food & Beverage", "manufacturing": "Manufacturing", "energy": "Energy",
    "retail": "Retail", "media": "Media", "telecom": "Telecommunications", "construction": "Construction",
    "consulting": "Consulting", "biotech": "Biotechnology", "hospitality": "Hospitality", "education": "Education",
}
_HUBSPOT_INDUSTRY = {
    "software": "COMPUTER_SOFTWARE", "it_services": "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "logistics": "LOGISTICS_AND_SUPPLY_CHAIN", "healthcare": "HOSPITAL_HEALTH_CARE",
    "medical_devices": "MEDICAL_DEVICES", "banking": "BANKING", "financial": "FINANCIAL_SERVICES",
    "insurance": "INSURANCE", "food": "FOOD_BEVERAGES", "manufacturing": "MACHINERY",
    "energy": "RENEWABLES_ENVIRONMENT", "retail": "RETAIL", "media": "ONLINE_MEDIA",
    "telecom": "TELECOMMUNICATIONS", "construction": "CONSTRUCTION", "consulting": "MANAGEMENT_CONSULTING",
    "biotech": "BIOTECHNOLOGY", "hospitality": "HOSPITALITY", "education": "E_LEARNING",
}
_LINKEDIN_INDUSTRY = {  # Pipedrive's organization industry (filled by its LinkedIn-style enrichment)
    "software": "Computer Software", "it_services": "Information Technology & Services",
    "logistics": "Logistics & Supply Chain", "healthcare": "Hospital & Health Care",
    "medical_devices": "Medical Devices", "banking": "Banking", "financial": "Financial Services",
    "insurance": "Insurance", "food": "Food & Beverages", "manufacturing": "Machinery",
    "energy": "Renewables & Environment", "retail": "Retail", "media": "Online Media",
    "telecom": "Telecommunications", "construction": "Construction", "consulting": "Management Consulting",
    "biotech": "Biotechnology", "hospitality": "Hospitality", "education": "E-Learning",
}
_DYNAMICS_INDUSTRY = {
    "software": "Business Services", "it_services": "Business Services", "logistics": "Transportation",
    "healthcare": "Doctor's Offices and Clinics", "medical_devices": "Durable Manufacturing",
    "banking": "Financial", "financial": "Financial", "insurance": "Insurance",
    "food": "Food and Tobacco Processing", "manufacturing": "Durable Manufacturing",
    "energy": "Utility Creation and Distribution", "retail": "Non-Durable Merchandise Retail",
    "media": "Broadcasting Printing and Publishing", "telecom": "Utility Creation and Distribution",
    "construction": "Special Outbound Trade Contractors", "consulting": "Consulting",
    "biotech": "Inbound Capital Intensive Processing", "hospitality": "Eating and Drinking Places",
    "education": "Social Services",
}
_ZOHO_INDUSTRY = {
    "software": "ASP (Application Service Provider)", "it_services": "Systems Integrator",
    "logistics": "Service Provider", "healthcare": "Healthcare", "medical_devices": "Manufacturing",
    "banking": "Financial Services", "financial": "Financial Services", "insurance": "Financial Services",
    "food": "Retail", "manufacturing": "Manufacturing", "energy": "Large Enterprise", "retail": "Retail",
    "media": "Communications", "telecom": "Data/Telecom OEM", "construction": "Small/Medium Enterprise",
    "consulting": "Consulting", "biotech": "Technology", "hospitality": "Small/Medium Enterprise",
    "education": "Education",
}
_ODOO_INDUSTRY = {
    "software": "IT/Communication", "it_services": "IT/Communication", "logistics": "Transportation/Logistics",
    "healthcare": "Health/Social", "medical_devices": "Health/Social", "banking": "Finance/Insurance",
    "financial": "Finance/Insurance", "insurance": "Finance/Insurance", "food": "Food",
    "manufacturing": "Manufacturing", "energy": "Energy supply", "retail": "Wholesale/Retail",
    "media": "Entertainment", "telecom": "IT/Communication", "construction": "Construction",
    "consulting": "Other Services", "biotech": "Scientific", "hospitality": "Other Services",
    "education": "Education",
}

_STEMS = (
    "Brightline", "Copperleaf", "Northfield", "Bluewater", "Redwood", "Ironclad", "Summit", "Keystone",
    "Pinecrest", "Silverline", "Harborview", "Clearpath", "Greenfield", "Stonebridge", "Lakeshore", "Meridian",
    "Oakridge", "Pioneer", "Riverbend", "Sunrise", "Granite", "Evergreen", "Bayside", "Cobalt", "Falcon",
    "Horizon", "Juniper", "Kestrel", "Lighthouse", "Maple", "Nimbus", "Orchard", "Pinnacle", "Quarry",
    "Rockwell", "Sierra", "Tidewater", "Upland", "Vantage", "Westbrook", "Yellowtail", "Zenith", "Alder",
    "Beacon", "Cedar", "Driftwood", "Ember", "Foxglove", "Glacier", "Hollis", "Ivory", "Jasper", "Kingsley",
    "Lumen", "Mosaic", "Northstar", "Obsidian", "Parkway", "Quill", "Ridgeway", "Sable", "Tamarack",
    "Verity", "Willow", "Arbor", "Birch", "Crescent", "Dunmore", "Eastgate", "Fairhaven",
)
# Names of companies outside the US: some need more than ASCII.
_LOCAL_STEMS = ("Brückner", "Lindqvist", "Østergaard", "Moreau", "Kowalski", "Ferreira", "Nakamura",
                "Château Vert", "Okonkwo", "Søndergaard")

# city, state, area code, first three ZIP digits, latitude, longitude
_US_PLACES = (
    ("San Francisco", "CA", "415", "941", 37.7749, -122.4194),
    ("New York", "NY", "212", "100", 40.7128, -74.0060),
    ("Boston", "MA", "617", "021", 42.3601, -71.0589),
    ("Austin", "TX", "512", "787", 30.2672, -97.7431),
    ("Chicago", "IL", "312", "606", 41.8781, -87.6298),
    ("Seattle", "WA", "206", "981", 47.6062, -122.3321),
    ("Denver", "CO", "303", "802", 39.7392, -104.9903),
    ("Atlanta", "GA", "404", "303", 33.7490, -84.3880),
    ("Newark", "NJ", "973", "071", 40.7357, -74.1724),
    ("Hartford", "CT", "860", "061", 41.7658, -72.6734),
    ("Portland", "ME", "207", "041", 43.6591, -70.2568),
    ("Raleigh", "NC", "919", "276", 35.7796, -78.6382),
    ("Minneapolis", "MN", "612", "554", 44.9778, -93.2650),
    ("Phoenix", "AZ", "602", "850", 33.4484, -112.0740),
    ("Nashville", "TN", "615", "372", 36.1627, -86.7816),
)
_US_STREETS = ("Market Street", "Main Street", "Fifth Avenue", "Congress Avenue", "Wacker Drive", "Pine St",
               "Peachtree Road NE", "Broad Street", "Commerce St", "Elm Street", "Industrial Pkwy",
               "Technology Drive", "Harbor Blvd", "Lake Shore Drive", "Mill Road", "W 34th Street")


@dataclass(frozen=True)
class _Abroad:
    city: str
    state: str
    country: str
    postcodes: tuple[str, ...]
    lat: float
    lon: float
    phone: str  # format with a four-digit number
    streets: tuple[str, ...]
    number_first: bool
    tld: str
    legal: str


_INTL_PLACES = (
    _Abroad("London", "", "United Kingdom", ("EC2A 4NE", "SW1A 2AA", "N1 9GU", "E14 5AB"), 51.5072, -0.1276,
            "+44 20 7946 {:04d}", ("High Street", "Old Street", "Bishopsgate"), True, ".co.uk", "Ltd"),
    _Abroad("Toronto", "ON", "Canada", ("M5V 2T6", "M4W 1A8", "M5H 2N2"), 43.6532, -79.3832,
            "+1 416-555-{:04d}", ("King Street West", "Bay Street", "Queen Street East"), True, ".ca", "Inc."),
    _Abroad("Berlin", "", "Germany", ("10115", "10178", "10969"), 52.5200, 13.4050,
            "+49 30 9018{:04d}", ("Friedrichstraße", "Torstraße", "Kurfürstendamm"), False, ".de", "GmbH"),
    _Abroad("Sydney", "NSW", "Australia", ("2000", "2010", "2060"), -33.8688, 151.2093,
            "+61 2 9374 {:04d}", ("George Street", "Pitt Street", "Kent Street"), True, ".com.au", "Pty Ltd"),
    _Abroad("Singapore", "", "Singapore", ("018989", "049315", "238859"), 1.3521, 103.8198,
            "+65 6123 {:04d}", ("Raffles Place", "Robinson Road", "Orchard Road"), True, ".sg", "Pte. Ltd."),
)

_FIRST = ("Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Isabella", "Lucas", "Mia",
          "Logan", "Amelia", "James", "Harper", "Benjamin", "Evelyn", "Elijah", "Abigail", "Henry", "Priya",
          "Rahul", "Wei", "Mei", "Carlos", "Lucía", "Fatima", "Omar", "Hannah", "Jonas")
_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
         "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
         "Martin", "Lee", "Patel", "Chen", "Nguyen", "Kim", "Okafor", "Schmidt", "Rossi", "O'Brien", "Kowalski")


@dataclass(frozen=True)
class _Company:
    name: str
    short: str  # the name without its legal form, as deal names use it
    domain: str  # bare: brightlinesoftware.com
    sector: str
    employees: int
    revenue: float
    founded: int
    street: str
    street2: str  # "" or a suite / floor line
    city: str
    state: str
    country: str  # English name: United States, United Kingdom, ...
    postal: str
    lat: float
    lon: float
    phone_area: str  # US area code; "" abroad
    phone_intl: str  # abroad: the number's format, filled with four digits; "" in the US
    description: str
    created: datetime

    @property
    def us(self) -> bool:
        return self.country == "United States"

    def phone(self, rng: random.Random, style: str) -> str:
        """A phone number as the vendor's users type it: (415) 555-0142, 415-555-0142, +1 415-555-0142."""
        if not self.us:
            return self.phone_intl.format(rng.randint(0, 9999))
        line = f"555-01{rng.randint(0, 99):02d}"
        if style == "paren":
            return f"({self.phone_area}) {line}"
        if style == "intl":
            return f"+1 {self.phone_area}-{line}"
        return f"{self.phone_area}-{line}"

    def one_line_address(self) -> str:
        parts = [self.street, self.city, f"{self.state} {self.postal}".strip(), self.country]
        return ", ".join(p for p in parts if p)


_TRANSLIT = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ß": "ss", "đ": "d", "ł": "l"})


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


def _round_sig(value: float, digits: int = 2) -> float:
    if value <= 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(value)) - digits + 1)
    return float(round(value / scale) * scale)


def _employees(rng: random.Random) -> int:
    raw = math.exp(rng.uniform(math.log(6), math.log(30_000)))
    if raw < 100:
        return int(raw)
    if raw < 1000:
        return int(round(raw, -1))
    return int(round(raw, -2))


def _description(rng: random.Random, name: str, blurb: str, city: str, employees: int) -> str:
    extra = (
        f"Headquartered in {city}, the company employs about {employees:,} people.",
        f"Customer since {rng.randint(2015, 2022)}; the renewal is handled by the regional team.",
        "The main contact prefers email over phone, and business reviews are held in person each quarter.",
        f"They are evaluating an expansion to {rng.randint(2, 9)} more sites next year.",
        "Procurement requires three quotes for any purchase above $50,000.",
        "Met at the annual user conference; strong interest in the reporting add-on.",
        "Budget cycle starts in October, so proposals should land before the end of September.",
    )
    return " ".join([f"{name} {blurb}.", *rng.sample(extra, rng.randint(1, 2))])


def _company(rng: random.Random, stem: str, sector: str, abroad: _Abroad | None, *, name: str | None = None,
             domain: str | None = None, city: str | None = None) -> _Company:
    words, blurb = _SECTORS[sector]
    short = f"{stem} {rng.choice(words)}"
    legal = abroad.legal if abroad else rng.choice(("", "", "Inc.", "Inc.", "LLC", "Corp.", "Co."))
    if name is not None:
        short = name.split(",")[0]
    elif legal == "Inc." and rng.random() < 0.3:
        name = f"{short}, {legal}"
    else:
        name = f"{short} {legal}".strip()
    tld = abroad.tld if abroad else rng.choice((".com", ".com", ".com", ".com", ".io", ".co"))
    number = rng.randint(1, 2400)
    if abroad:
        street_name = rng.choice(abroad.streets)
        street = f"{number} {street_name}" if abroad.number_first else f"{street_name} {number}"
        place_city, state, country = abroad.city, abroad.state, abroad.country
        postal = rng.choice(abroad.postcodes)
        lat, lon = abroad.lat, abroad.lon
        area, intl = "", abroad.phone
    else:
        place = next((p for p in _US_PLACES if p[0] == city), None) if city else None
        place_city, state, area, zip3, lat, lon = place or rng.choice(_US_PLACES)
        street = f"{number} {rng.choice(_US_STREETS)}"
        country = "United States"
        postal = f"{zip3}{rng.randint(1, 99):02d}"
        if rng.random() < 0.25:
            postal += f"-{rng.randint(1000, 9999)}"
        intl = ""
    street2 = rng.choice(("", "", f"Suite {rng.randint(1, 19)}00", f"Floor {rng.randint(2, 40)}"))
    employees = _employees(rng)
    revenue = _round_sig(employees * rng.uniform(90_000, 350_000))
    return _Company(
        name=name, short=short, domain=domain or f"{_slug(short)}{tld}", sector=sector, employees=employees,
        revenue=revenue, founded=rng.randint(1952, 2019), street=street, street2=street2, city=place_city,
        state=state, country=country, postal=postal, lat=round(lat + rng.uniform(-0.05, 0.05), 6),
        lon=round(lon + rng.uniform(-0.05, 0.05), 6), phone_area=area, phone_intl=intl,
        description=_description(rng, name, blurb, place_city, employees),
        created=datetime(2019, 1, 7, 8) + timedelta(seconds=rng.randint(0, 4 * 365 * 86400)),
    )


def _companies(rng: random.Random, count: int, abroad_share: float = 0.15) -> list[_Company]:
    """`count` companies with distinct names and domains; about `abroad_share` of them outside the US."""
    stems = rng.sample(_STEMS, count)
    local = list(rng.sample(_LOCAL_STEMS, len(_LOCAL_STEMS)))
    sectors = list(_SECTORS)
    result = []
    for stem in stems:
        abroad = rng.choice(_INTL_PLACES) if local and rng.random() < abroad_share else None
        result.append(_company(rng, local.pop() if abroad else stem, rng.choice(sectors), abroad))
    return result


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _people(rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = _person(rng)
        if name not in names:
            names.append(name)
    return names


def _email(person: str, domain: str) -> str:
    first, last = person.split(" ", 1)
    return f"{_slug(first)}.{_slug(last)}@{domain}"


def _moment(rng: random.Random, start: datetime, days: int) -> datetime:
    return start + timedelta(seconds=rng.randint(0, days * 86400))


def _later(rng: random.Random, moment: datetime, max_days: int) -> datetime:
    return moment + timedelta(seconds=rng.randint(3600, max_days * 86400))


def _deal_label(rng: random.Random, company: _Company) -> str:
    product = rng.choice(("Platform License", "Renewal FY24", "Expansion", "Pilot", "Enterprise Plan",
                          "Onboarding Services", "Upgrade", "Multi-year Renewal", "Analytics Add-on"))
    return f"{company.short} - {product}"


def _outcomes(values: Sequence[str]) -> dict[str, int]:
    return dict(Counter(values))


def _csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], *, encoding: str = "utf-8",
         quoting: int = csv.QUOTE_MINIMAL, lineterminator: str = "\r\n") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, quoting=quoting, lineterminator=lineterminator)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _xlsx_sheet(workbook: openpyxl.Workbook, title: str) -> Worksheet:
    sheet = workbook.active
    sheet.title = title
    return sheet


def _format_columns(sheet, header: Sequence[str], first_data_row: int, formats: dict[str, str]) -> None:
    """Give the cells of the named columns an Excel number format (dates, currency)."""
    for index, name in enumerate(header, start=1):
        if name not in formats:
            continue
        for (cell,) in sheet.iter_rows(min_row=first_data_row, min_col=index, max_col=index):
            if cell.value is not None:
                cell.number_format = formats[name]


# --- Salesforce --------------------------------------------------------------------------------

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


class _SalesforceIds:
    """Record ids as Salesforce makes them: key prefix, pod, reserved digit, serial, case-safe suffix."""

    def __init__(self, rng: random.Random, pod: str = "Ec"):
        self.rng = rng
        self.pod = pod
        self.seen: set[str] = set()

    def new(self, prefix: str, length: int = 18) -> str:
        while True:
            id15 = f"{prefix}{self.pod}00000{''.join(self.rng.choice(_B62) for _ in range(5))}"
            if id15 not in self.seen:
                self.seen.add(id15)
                break
        return id15 if length == 15 else id15 + _case_safe_suffix(id15)


def _case_safe_suffix(id15: str) -> str:
    """The three characters that make an 18-character id case-insensitive (Salesforce's algorithm)."""
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        flags = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        out += _SUFFIX[flags]
    return out


def _sf_datetime(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.000Z"


def _java_double(value: float) -> str:
    """A double as the SOAP API (and so Data Loader) writes it: Java's Double.toString, 1.39E8, 15000.0."""
    if value == 0:
        return "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(float(value))
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = len(text) + exponent - 1
    mantissa = f"{text[0]}.{text[1:] or '0'}"
    return f"{'-' if sign else ''}{mantissa}E{power}"


def _sf_country(rng: random.Random, company: _Company) -> str:
    if company.us:
        return rng.choice(("USA", "USA", "United States", "US"))
    if company.country == "United Kingdom":
        return rng.choice(("United Kingdom", "UK"))
    return company.country


def _ticker(name: str, taken: set[str]) -> str:
    letters = [ch for ch in _slug(name).upper() if ch.isalpha()]
    for size in (4, 3, 5):
        for start in range(len(letters) - size + 1):
            candidate = "".join(letters[start:start + size])
            if candidate not in taken:
                taken.add(candidate)
                return candidate
    raise AssertionError(f"no ticker for {name}")


def salesforce_accounts(folder: Path) -> VendorFile:
    """Data Loader extract of Account: every field quoted, API names, LF, SOAP number formats."""
    rng = random.Random(101)
    ids = _SalesforceIds(rng)
    companies = _companies(rng, 48)
    # Two different accounts whose names differ only by a legal form: never one account.
    companies.insert(7, _company(rng, "Acme", "manufacturing", None, name="Acme", domain="acme.com",
                                 city="Chicago"))
    companies.insert(31, _company(rng, "Acme", "software", None, name="Acme, Inc.", domain="acmeinc.com",
                                  city="Austin"))
    owners = [ids.new("005") for _ in range(4)]
    header = [
        "Id", "IsDeleted", "MasterRecordId", "Name", "Type", "ParentId", "BillingStreet", "BillingCity",
        "BillingState", "BillingPostalCode", "BillingCountry", "BillingLatitude", "BillingLongitude", "Phone",
        "Fax", "AccountNumber", "Website", "PhotoUrl", "Sic", "Industry", "AnnualRevenue", "NumberOfEmployees",
        "Ownership", "TickerSymbol", "Description", "Rating", "OwnerId", "CreatedDate", "LastModifiedDate",
        "SystemModstamp", "AccountSource", "YearStarted", "CustomerPriority__c", "SLA__c", "Active__c",
        "NumberofLocations__c", "SLASerialNumber__c",
    ]
    account_numbers: set[str] = set()
    tickers: set[str] = set()
    serials = rng.sample(range(1000, 10000), len(companies))
    account_ids: list[str] = []
    rows = []
    for index, c in enumerate(companies):
        account_id = ids.new("001")
        account_ids.append(account_id)
        while (number := f"C{rng.choice('CD')}{rng.randint(100000, 999999)}") in account_numbers:
            pass
        account_numbers.add(number)
        if c.domain == "acme.com":
            website = "http://www.acme.com"
        elif c.domain == "acmeinc.com":
            website = "acmeinc.com"
        else:
            website = rng.choice((f"http://www.{c.domain}", f"www.{c.domain}", c.domain, f"https://{c.domain}",
                                  f"http://{c.domain}"))
        ownership = rng.choice(("Public", "Private", "Private", "Subsidiary", "Other"))
        sla = rng.choice(("Gold", "Silver", "Platinum", "Bronze", ""))
        geocoded = rng.random() < 0.8
        created = c.created
        modified = _later(rng, created, 300)
        rows.append([
            account_id, "false", "", c.name,
            rng.choice(("Customer - Direct", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
                        "Installation Partner", "Technology Partner", "Prospect", "Other")),
            rng.choice(account_ids[:-1]) if index > 3 and rng.random() < 0.1 else "",
            f"{c.street}\n{c.street2}" if c.street2 else c.street,
            c.city, c.state, c.postal, _sf_country(rng, c),
            _java_double(c.lat) if geocoded else "", _java_double(c.lon) if geocoded else "",
            c.phone(rng, "paren"), c.phone(rng, "paren") if rng.random() < 0.5 else "",
            number, website, f"/services/images/photo/{account_id}",
            str(rng.randint(1000, 9999)) if rng.random() < 0.6 else "",
            _SALESFORCE_INDUSTRY[c.sector] if rng.random() < 0.95 else "",
            _java_double(c.revenue) if rng.random() < 0.9 else "",
            str(c.employees) if rng.random() < 0.95 else "",
            ownership, _ticker(c.short, tickers) if ownership == "Public" else "",
            c.description if rng.random() < 0.75 else "",
            rng.choice(("Hot", "Warm", "Cold", "")), rng.choice(owners),
            _sf_datetime(created), _sf_datetime(modified), _sf_datetime(modified + timedelta(seconds=rng.randint(0, 9))),
            rng.choice(("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", "")),
            str(c.founded) if rng.random() < 0.85 else "",
            rng.choice(("High", "Medium", "Low", "")), sla, rng.choice(("Yes", "No", "")),
            _java_double(float(rng.randint(1, 120))) if rng.random() < 0.7 else "",
            str(serials[index]) if sla else "",
        ])
    path = _csv(folder / "Account extract.csv", header, rows, quoting=csv.QUOTE_ALL, lineterminator="\n")
    return VendorFile(
        path=path, kind="customers", rows=len(rows),
        expected_roles={
            "Id": "account_id", "Name": "account_name", "BillingCity": "city", "BillingState": "state",
            "BillingCountry": "country", "Website": "domain", "Industry": "industry", "AnnualRevenue": "revenue",
            "NumberOfEmployees": "employees", "AccountSource": "channel", "YearStarted": "founded_year",
        },
        excluded={
            "IsDeleted": "constant", "MasterRecordId": "empty", "BillingStreet": "address",
            "BillingPostalCode": "postal_code", "BillingLatitude": "coordinates", "BillingLongitude": "coordinates",
            "Phone": "phone", "Fax": "phone", "AccountNumber": "identifier", "PhotoUrl": "url",
            "TickerSymbol": "identifier", "Description": "free_text", "OwnerId": "identifier",
            "SLASerialNumber__c": "identifier",
        },
    )


_SF_STAGES = {  # stage -> probability, forecast category (API), forecast category name
    "Prospecting": (10, "Pipeline", "Pipeline"),
    "Value Proposition": (50, "Pipeline", "Pipeline"),
    "Negotiation/Review": (90, "Pipeline", "Pipeline"),
    "Closed Won": (100, "Closed", "Closed"),
    "Closed Lost": (0, "Omitted", "Omitted"),
}


def _sf_outcome(stage: str) -> str:
    return {"Closed Won": "won", "Closed Lost": "lost"}.get(stage, "open")


def _stages(rng: random.Random, counts: dict[str, int]) -> list[str]:
    stages = [stage for stage, count in counts.items() for _ in range(count)]
    rng.shuffle(stages)
    return stages


def salesforce_opportunities(folder: Path) -> VendorFile:
    """Data Loader extract of Opportunity from a developer org: some rows created (by a data load) after
    they closed, so their created-to-close cycle is negative."""
    rng = random.Random(202)
    ids = _SalesforceIds(rng)
    accounts = [(ids.new("001"), c) for c in _companies(rng, 24)]
    owners = [ids.new("005") for _ in range(4)]
    campaigns = [ids.new("701") for _ in range(3)]
    load = datetime(2023, 6, 12, 9, 14, 51)
    stages = _stages(rng, {"Closed Won": 16, "Closed Lost": 12, "Prospecting": 8, "Value Proposition": 7,
                           "Negotiation/Review": 7})
    header = [
        "Id", "IsDeleted", "AccountId", "IsPrivate", "Name", "Description", "StageName", "Amount", "Probability",
        "ExpectedRevenue", "CloseDate", "Type", "NextStep", "LeadSource", "IsClosed", "IsWon", "ForecastCategory",
        "ForecastCategoryName", "CampaignId", "OwnerId", "CreatedDate", "LastModifiedDate", "FiscalYear",
        "FiscalQuarter",
    ]
    loaded_rows = 0
    rows = []
    for stage in stages:
        account_id, company = rng.choice(accounts)
        closed = stage.startswith("Closed")
        if closed:
            close = date(2022, 1, 3) + timedelta(days=rng.randint(0, 510))
        else:
            close = date(2023, 7, 3) + timedelta(days=rng.randint(0, 240))
        close_moment = datetime.combine(close, datetime.min.time()) + timedelta(hours=rng.randint(8, 18))
        if closed and loaded_rows < 7:  # sample data loaded into the org after it had "closed"
            created = load + timedelta(seconds=loaded_rows)
            loaded_rows += 1
        else:
            created = close_moment - timedelta(days=rng.randint(14, 200), minutes=rng.randint(0, 600))
        modified = max(created, close_moment) + timedelta(minutes=rng.randint(1, 9000))
        probability, category, category_name = _SF_STAGES[stage]
        amount = float(rng.randint(4, 360) * 500) if closed or rng.random() < 0.9 else None
        if amount is not None and rng.random() < 0.2:
            amount += rng.choice((0.5, 0.25, 0.99))
        rows.append([
            ids.new("006"), "false", account_id, "false",
            f"{company.short} - {rng.randint(50, 1500)} Widgets" if rng.random() < 0.3 else _deal_label(rng, company),
            company.description if rng.random() < 0.7 else "",
            stage, "" if amount is None else _java_double(amount), _java_double(float(probability)),
            "" if amount is None else _java_double(amount * probability / 100),
            close.isoformat(),
            rng.choice(("New Customer", "New Customer", "Existing Customer - Upgrade",
                        "Existing Customer - Replacement", "Existing Customer - Downgrade", "")),
            "" if closed else rng.choice(("Send revised quote", "Schedule call with the CFO", "Security review",
                                          "Legal redlines due Friday", "")),
            rng.choice(("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "External Referral",
                        "Trade Show", "Word of mouth", "Other", "")),
            "true" if closed else "false", "true" if stage == "Closed Won" else "false", category, category_name,
            rng.choice(campaigns) if rng.random() < 0.2 else "", rng.choice(owners),
            _sf_datetime(created), _sf_datetime(modified), str(close.year), str((close.month - 1) // 3 + 1),
        ])
    path = _csv(folder / "Opportunity extract.csv", header, rows, quoting=csv.QUOTE_ALL, lineterminator="\n")
    return VendorFile(
        path=path, kind="deals", rows=len(rows),
        expected_roles={
            "Id": "deal_id", "AccountId": "account_id", "Name": "deal_name", "StageName": "deal_stage",
            "Amount": "amount", "CloseDate": "closed_date", "CreatedDate": "created_date", "IsWon": "won",
            "IsClosed": "closed",
        },
        not_roles={"Name": "account_name"},
        excluded={"IsDeleted": "constant", "IsPrivate": "constant", "OwnerId": "identifier",
                  "Description": "free_text"},
        outcomes=_outcomes([_sf_outcome(s) for s in stages]),
    )


def salesforce_report_xlsx(folder: Path) -> VendorFile:
    """A Lightning report exported as "Formatted Report" (.xlsx): a title block above the table, UI labels,
    typed cells, 15-character ids, Won and Closed as 1/0."""
    rng = random.Random(303)
    ids = _SalesforceIds(rng, pod="5g")
    accounts = [(ids.new("001", 15), c) for c in _companies(rng, 22)]
    owners = _people(rng, 5)
    today = date(2023, 10, 2)
    stages = _stages(rng, {"Closed Won": 14, "Closed Lost": 11, "Prospecting": 7, "Value Proposition": 7,
                           "Negotiation/Review": 6})
    header = [
        "Opportunity Owner", "Account Name", "Opportunity Name", "Stage", "Fiscal Period", "Amount",
        "Probability (%)", "Age", "Close Date", "Created Date", "Lead Source", "Type", "Opportunity ID",
        "Account ID", "Won", "Closed",
    ]
    rows = []
    for stage in stages:
        account_id, company = rng.choice(accounts)
        closed = stage.startswith("Closed")
        if closed:
            close = today - timedelta(days=rng.randint(5, 420))
        else:
            close = today + timedelta(days=rng.randint(3, 200))
        created = close - timedelta(days=rng.randint(10, 180))
        if not closed and created > today:
            created = today - timedelta(days=rng.randint(1, 30))
        age = ((close if closed else today) - created).days
        rows.append([
            rng.choice(owners), company.name, _deal_label(rng, company), stage,
            f"Q{(close.month - 1) // 3 + 1}-{close.year}",
            round(rng.randint(8, 900) * 250 + rng.choice((0, 0, 0, 0.5, 0.75)), 2),
            _SF_STAGES[stage][0], age,
            datetime.combine(close, datetime.min.time()), datetime.combine(created, datetime.min.time()),
            rng.choice(("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Trade Show", None)),
            rng.choice(("New Customer", "Existing Customer - Upgrade", "Existing Customer - Replacement", None)),
            ids.new("006", 15), account_id, 1 if stage == "Closed Won" else 0, 1 if closed else 0,
        ])
    workbook = openpyxl.Workbook()
    sheet = _xlsx_sheet(workbook, "Opportunity Pipeline")
    sheet["A1"] = "Opportunity Pipeline - Won, Lost and Open"
    sheet["A2"] = "Filtered By:"
    sheet["A3"] = "    Show Me: All opportunities"
    sheet["A4"] = "    Close Date: Previous FY, Current FY"
    # Row 5 is blank; the table starts on row 6.
    for column, name in enumerate(header, start=1):
        sheet.cell(row=6, column=column, value=name)
    for offset, row in enumerate(rows):
        for column, value in enumerate(row, start=1):
            sheet.cell(row=7 + offset, column=column, value=value)
    _format_columns(sheet, header, 7, {"Amount": '"$"#,##0.00', "Close Date": "m/d/yyyy",
                                       "Created Date": "m/d/yyyy"})
    path = folder / "report1696240951000.xlsx"
    workbook.save(path)
    return VendorFile(
        path=path, kind="deals", rows=len(rows),
        expected_roles={
            "Opportunity Owner": "owner", "Account Name": "account_name", "Opportunity Name": "deal_name",
            "Stage": "deal_stage", "Amount": "amount", "Close Date": "closed_date", "Created Date": "created_date",
            "Opportunity ID": "deal_id", "Account ID": "account_id", "Won": "won", "Closed": "closed",
        },
        outcomes=_outcomes([_sf_outcome(s) for s in stages]),
    )


# --- HubSpot -----------------------------------------------------------------------------------

def _hubspot_time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def _hubspot_ids(rng: random.Random, count: int, low: int, high: int) -> list[int]:
    return sorted(rng.sample(range(low, high), count))


def hubspot_companies(folder: Path) -> VendorFile:
    """HubSpot "Export" of companies as CSV: UTF-8 with a BOM, CRLF, UI labels, internal industry values."""
    rng = random.Random(404)
    companies = _companies(rng, 55)
    record_ids = _hubspot_ids(rng, len(companies), 5_000_000_000, 19_999_999_999)
    owners = _people(rng, 5)
    header = [
        "Record ID", "Company name", "Company owner", "Create Date", "Phone Number", "Last Activity Date", "City",
        "State/Region", "Country/Region", "Postal Code", "Street Address", "Industry", "Company Domain Name",
        "Website URL", "Number of Employees", "Annual Revenue", "Lifecycle Stage", "Type", "Year Founded",
        "LinkedIn Company Page", "Description", "Time Zone",
    ]
    zones = {"United States": ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"),
             "United Kingdom": ("Europe/London",), "Canada": ("America/Toronto",), "Germany": ("Europe/Berlin",),
             "Australia": ("Australia/Sydney",), "Singapore": ("Asia/Singapore",)}
    rows = []
    for record_id, c in zip(record_ids, companies, strict=True):
        last_activity = _later(rng, c.created, 500) if rng.random() < 0.8 else None
        rows.append([
            record_id, c.name, rng.choice(owners) if rng.random() < 0.9 else "", _hubspot_time(c.created),
            c.phone(rng, rng.choice(("intl", "paren", "dash"))) if rng.random() < 0.85 else "",
            _hubspot_time(last_activity) if last_activity else "",
            c.city, c.state, c.country, c.postal, c.street,
            _HUBSPOT_INDUSTRY[c.sector] if rng.random() < 0.9 else "",
            c.domain, rng.choice((f"https://www.{c.domain}", f"http://www.{c.domain}", f"https://{c.domain}")),
            c.employees if rng.random() < 0.9 else "", int(c.revenue) if rng.random() < 0.85 else "",
            rng.choice(("Customer", "Customer", "Opportunity", "Lead", "Marketing Qualified Lead",
                        "Sales Qualified Lead", "Evangelist")),
            rng.choice(("Prospect", "Partner", "Reseller", "Vendor", "Other", "", "")),
            c.founded if rng.random() < 0.7 else "",
            f"https://www.linkedin.com/company/{_slug(c.short)}" if rng.random() < 0.8 else "",
            c.description if rng.random() < 0.7 else "",
            rng.choice(zones[c.country]),
        ])
    path = _csv(folder / "hubspot-crm-exports-all-companies-2023-10-02.csv", header, rows,
                encoding="utf-8-sig", lineterminator="\r\n")
    return VendorFile(
        path=path, kind="customers", rows=len(rows),
        expected_roles={
            "Record ID": "account_id", "Company name": "account_name", "City": "city", "State/Region": "state",
            "Country/Region": "country", "Industry": "industry", "Company Domain Name": "domain",
            "Number of Employees": "employees", "Annual Revenue": "revenue", "Year Founded": "founded_year",
        },
        excluded={
            "Phone Number": "phone", "Postal Code": "postal_code", "Street Address": "address",
            "Website URL": "url", "LinkedIn Company Page": "url", "Description": "free_text",
        },
    )


_HUBSPOT_STAGES = {  # label -> internal id, outcome
    "Appointment Scheduled": ("appointmentscheduled", "open"),
    "Contract Sent": ("contractsent", "open"),
    "Closed Won": ("closedwon", "won"),
    "Closed Lost": ("closedlost", "lost"),
}


def hubspot_deals_xlsx(folder: Path) -> VendorFile:
    """HubSpot "Export" of deals in its default XLSX format: typed cells, the primary company's name and id."""
    rng = random.Random(505)
    companies = _companies(rng, 26)
    company_ids = _hubspot_ids(rng, len(companies), 5_000_000_000, 19_999_999_999)
    stages = _stages(rng, {"Closed Won": 15, "Closed Lost": 13, "Appointment Scheduled": 12, "Contract Sent": 10})
    deal_ids = _hubspot_ids(rng, len(stages), 10_000_000_000, 19_999_999_999)
    owners = _people(rng, 5)
    header = [
        "Record ID", "Deal Name", "Deal Stage", "Close Date", "Deal owner", "Amount", "Create Date", "Pipeline",
        "Associated Company (Primary)", "Associated Company IDs (Primary)",
    ]
    rows = []
    for deal_id, stage in zip(deal_ids, stages, strict=True):
        index = rng.randrange(len(companies))
        company = companies[index]
        created = _moment(rng, datetime(2022, 1, 3, 8), 560).replace(microsecond=0)
        close = _later(rng, created, 160).replace(second=0)
        linked = rng.random() < 0.94
        rows.append([
            deal_id, _deal_label(rng, company), stage, close, rng.choice(owners),
            float(rng.randint(10, 800) * 100) if rng.random() < 0.92 else None, created, "Sales Pipeline",
            company.name if linked else None, company_ids[index] if linked else None,
        ])
    workbook = openpyxl.Workbook()
    sheet = _xlsx_sheet(workbook, "All deals")
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    _format_columns(sheet, header, 2, {"Close Date": "yyyy-mm-dd hh:mm", "Create Date": "yyyy-mm-dd hh:mm"})
    path = folder / "hubspot-crm-exports-all-deals-2023-10-02.xlsx"
    workbook.save(path)
    return VendorFile(
        path=path, kind="deals", rows=len(rows),
        expected_roles={
            "Record ID": "deal_id", "Deal Name": "deal_name", "Deal Stage": "deal_stage",
            "Close Date": "closed_date", "Deal owner": "owner", "Amount": "amount", "Create Date": "created_date",
            "Associated Company (Primary)": "account_name", "Associated Company IDs (Primary)": "account_id",
        },
        not_roles={"Record ID": "account_id"},
        outcomes=_outcomes([_HUBSPOT_STAGES[s][1] for s in stages]),
    )


_UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def hubspot_companies_parquet(folder: Path) -> VendorFile:
    """HubSpot companies as Fivetran syncs them to a warehouse (table `company`), unloaded to Parquet."""
    rng = random.Random(606)
    companies = _companies(rng, 45)
    ids = _hubspot_ids(rng, len(companies), 5_000_000_000, 19_999_999_999)
    synced = datetime(2023, 10, 2, 3, 17, 44)
    columns = {
        "id": pa.array(ids, pa.int64()),
        "is_deleted": pa.array([False] * len(ids), pa.bool_()),
        "portal_id": pa.array([4518730] * len(ids), pa.int64()),
        "property_name": pa.array([c.name for c in companies], pa.string()),
        "property_domain": pa.array([c.domain for c in companies], pa.string()),
        "property_industry": pa.array([_HUBSPOT_INDUSTRY[c.sector] if rng.random() < 0.9 else None
                                       for c in companies], pa.string()),
        "property_annualrevenue": pa.array([c.revenue if rng.random() < 0.85 else None for c in companies],
                                           pa.float64()),
        "property_numberofemployees": pa.array([c.employees if rng.random() < 0.9 else None for c in companies],
                                               pa.int64()),
        "property_country": pa.array([c.country for c in companies], pa.string()),
        "property_city": pa.array([c.city for c in companies], pa.string()),
        "property_phone": pa.array([c.phone(rng, "intl") if rng.random() < 0.85 else None for c in companies],
                                   pa.string()),
        "property_zip": pa.array([c.postal for c in companies], pa.string()),
        "property_address": pa.array([c.street for c in companies], pa.string()),
        "property_createdate": pa.array([_utc(c.created) for c in companies], _UTC_TIMESTAMP),
        "property_hs_object_id": pa.array(ids, pa.int64()),
        "_fivetran_synced": pa.array([_utc(synced + timedelta(milliseconds=rng.randint(0, 90_000)))
                                      for _ in companies], _UTC_TIMESTAMP),
    }
    path = folder / "company.parquet"
    pq.write_table(pa.table(columns), path)
    return VendorFile(
        path=path, kind="customers", rows=len(companies),
        expected_roles={
            "id": "account_id", "property_name": "account_name", "property_domain": "domain",
            "property_industry": "industry", "property_annualrevenue": "revenue",
            "property_numberofemployees": "employees", "property_country": "country", "property_city": "city",
        },
        excluded={
            "is_deleted": "constant", "portal_id": "constant", "property_phone": "phone",
            "property_zip": "postal_code", "property_address": "address",
        },
    )


def hubspot_deals_parquet(folder: Path) -> VendorFile:
    """HubSpot deals as Fivetran syncs them (table `deal`), unloaded to Parquet: internal stage ids, flags."""
    rng = random.Random(707)
    company_ids = _hubspot_ids(rng, 24, 5_000_000_000, 19_999_999_999)
    companies = _companies(rng, 24)
    labels = _stages(rng, {"Closed Won": 14, "Closed Lost": 12, "Appointment Scheduled": 13, "Contract Sent": 11})
    deal_ids = _hubspot_ids(rng, len(labels), 10_000_000_000, 19_999_999_999)
    created, closed_at, names, amounts, companies_of = [], [], [], [], []
    for _ in labels:
        index = rng.randrange(len(companies))
        start = _moment(rng, datetime(2022, 1, 3, 8), 560).replace(microsecond=0)
        created.append(_utc(start))
        closed_at.append(_utc(_later(rng, start, 160)))
        names.append(_deal_label(rng, companies[index]))
        amounts.append(float(rng.randint(10, 800) * 100) if rng.random() < 0.92 else None)
        companies_of.append(company_ids[index] if rng.random() < 0.95 else None)
    count = len(labels)
    columns = {
        "deal_id": pa.array(deal_ids, pa.int64()),
        "portal_id": pa.array([4518730] * count, pa.int64()),
        "is_deleted": pa.array([False] * count, pa.bool_()),
        "deal_pipeline_id": pa.array(["default"] * count, pa.string()),
        "property_dealname": pa.array(names, pa.string()),
        "property_amount": pa.array(amounts, pa.float64()),
        "property_closedate": pa.array(closed_at, _UTC_TIMESTAMP),
        "property_createdate": pa.array(created, _UTC_TIMESTAMP),
        "property_dealstage": pa.array([_HUBSPOT_STAGES[s][0] for s in labels], pa.string()),
        "property_hs_is_closed_won": pa.array([s == "Closed Won" for s in labels], pa.bool_()),
        "property_hs_is_closed": pa.array([s.startswith("Closed") for s in labels], pa.bool_()),
        "property_associatedcompanyid": pa.array(companies_of, pa.int64()),
    }
    path = folder / "deal.parquet"
    pq.write_table(pa.table(columns), path)
    return VendorFile(
        path=path, kind="deals", rows=count,
        expected_roles={
            "deal_id": "deal_id", "property_dealname": "deal_name", "property_amount": "amount",
            "property_closedate": "closed_date", "property_createdate": "created_date",
            "property_dealstage": "deal_stage", "property_hs_is_closed_won": "won",
            "property_hs_is_closed": "closed", "property_associatedcompanyid": "account_id",
        },
        outcomes=_outcomes([_HUBSPOT_STAGES[s][1] for s in labels]),
    )


# --- Pipedrive ---------------------------------------------------------------------------------

_PIPEDRIVE_STAGES = {"Qualified": 10, "Contact Made": 20, "Demo Scheduled": 50, "Proposal Made": 70,
                     "Negotiations Started": 90}


def _pipedrive_time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def pipedrive_deals(folder: Path) -> VendorFile:
    """Pipedrive "Export data" of deals with organization and person fields; the status (Won / Lost / Open)
    is its own column and the stage stays where the deal was when it closed."""
    rng = random.Random(808)
    companies = _companies(rng, 25)
    contacts = {c.name: _person(rng) for c in companies}
    owners = _people(rng, 5)
    statuses = _stages(rng, {"Won": 17, "Lost": 14, "Open": 19})
    header = [
        "Deal - ID", "Deal - Title", "Deal - Creator", "Deal - Owner", "Deal - Value", "Deal - Currency of Value",
        "Deal - Weighted value", "Deal - Probability", "Deal - Organization", "Deal - Contact person",
        "Deal - Pipeline", "Deal - Stage", "Deal - Status", "Deal - Deal created", "Deal - Update time",
        "Deal - Won time", "Deal - Lost time", "Deal - Deal closed on", "Deal - Expected close date",
        "Deal - Lost reason", "Organization - Name", "Organization - Industry", "Organization - Annual revenue",
        "Organization - Number of employees", "Organization - Address", "Person - Name", "Person - Email",
        "Person - Phone",
    ]
    rows = []
    deal_id = 1040
    for status in statuses:
        deal_id += rng.randint(1, 9)
        company = rng.choice(companies)
        person = contacts[company.name]
        created = _moment(rng, datetime(2022, 2, 1, 8), 540)
        closed = _later(rng, created, 150) if status != "Open" else None
        if status == "Won":
            stage = rng.choice(("Negotiations Started", "Negotiations Started", "Proposal Made"))
        else:
            stage = rng.choice(list(_PIPEDRIVE_STAGES))
        value = float(rng.randint(5, 600) * 100)
        weighted = {"Won": value, "Lost": 0.0}.get(status, value * _PIPEDRIVE_STAGES[stage] / 100)
        expected = (closed or _later(rng, created, 120)).date() + timedelta(days=rng.randint(-10, 20))
        update = _later(rng, closed or created, 20)
        rows.append([
            deal_id, f"{company.short} deal", rng.choice(owners), rng.choice(owners), _number(value), "USD",
            _number(weighted), rng.choice(("", "", "", "60", "80")), company.name, person, "Pipeline", stage,
            status, _pipedrive_time(created), _pipedrive_time(update),
            _pipedrive_time(closed) if status == "Won" and closed else "",
            _pipedrive_time(closed) if status == "Lost" and closed else "",
            _pipedrive_time(closed) if closed else "", expected.isoformat(),
            rng.choice(("Price too high", "Went with a competitor", "No budget this year", "No response"))
            if status == "Lost" else "",
            company.name, _LINKEDIN_INDUSTRY[company.sector] if rng.random() < 0.9 else "",
            int(company.revenue) if rng.random() < 0.85 else "", company.employees if rng.random() < 0.9 else "",
            company.one_line_address(), person, _email(person, company.domain),
            company.phone(rng, "intl"),
        ])
    path = _csv(folder / "deals-8731642-27.csv", header, rows, lineterminator="\n")
    return VendorFile(
        path=path, kind="deals", rows=len(rows),
        expected_roles={
            "Deal - ID": "deal_id", "Deal - Title": "deal_name", "Deal - Owner": "owner", "Deal - Value": "amount",
            "Deal - Status": "deal_stage", "Deal - Deal created": "created_date",
            "Deal - Deal closed on": "closed_date", "Organization - Name": "account_name",
            "Organization - Industry": "industry", "Organization - Annual revenue": "revenue",
            "Organization - Number of employees": "employees",
        },
        not_roles={"Deal - Stage": "deal_stage", "Person - Name": "account_name"},
        excluded={"Organization - Address": "address", "Person - Email": "email", "Person - Phone": "phone"},
        outcomes=_outcomes([s.lower() for s in statuses]),
    )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- Dynamics 365 ------------------------------------------------------------------------------

def _dynamics_workbook(title: str, entity: str, header: Sequence[str], rows: Sequence[Sequence[object]],
                       formats: dict[str, str]) -> openpyxl.Workbook:
    """Export to Excel as Dynamics 365 writes it: the view's sheet as an Excel table whose first three
    "(Do Not Modify)" columns are hidden, plus a hidden sheet of metadata."""
    workbook = openpyxl.Workbook()
    sheet = _xlsx_sheet(workbook, title[:31])
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    for letter in "ABC":
        sheet.column_dimensions[letter].hidden = True
    _format_columns(sheet, header, 2, formats)
    last = get_column_letter(len(header))
    table = Table(displayName="Table1", ref=f"A1:{last}{len(rows) + 1}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    sheet.add_table(table)
    hidden = workbook.create_sheet("hiddenSheet")
    hidden.sheet_state = "hidden"
    hidden["A1"] = f"{entity}:{base64.b64encode(entity.encode() * 3).decode()}:{title}"
    return workbook


def _dynamics_ids(rng: random.Random) -> tuple[str, str]:
    """A record's GUID and its row checksum (base64 of a 64-byte hash)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4)), base64.b64encode(rng.randbytes(64)).decode()


_DYNAMICS_DATETIME = "m/d/yyyy h:mm AM/PM"


def dynamics_accounts(folder: Path) -> VendorFile:
    """Dynamics 365 Sales, "Active Accounts" view, Export to Excel."""
    rng = random.Random(909)
    companies = _companies(rng, 45)
    owners = _people(rng, 4)
    header = [
        "(Do Not Modify) Account", "(Do Not Modify) Row Checksum", "(Do Not Modify) Modified On", "Account Name",
        "Main Phone", "Address 1: City", "Address 1: Country/Region", "Address 1: Street 1",
        "Address 1: ZIP/Postal Code", "Primary Contact", "Email", "Industry", "Annual Revenue", "No. of Employees",
        "Website", "Owner", "Created On",
    ]
    rows = []
    for c in companies:
        guid, checksum = _dynamics_ids(rng)
        contact = _person(rng)
        rows.append([
            guid, checksum, _later(rng, c.created, 400), c.name, c.phone(rng, "dash") if rng.random() < 0.9 else None,
            c.city, c.country, c.street, c.postal, contact if rng.random() < 0.85 else None,
            rng.choice((f"info@{c.domain}", f"sales@{c.domain}", _email(contact, c.domain))),
            _DYNAMICS_INDUSTRY[c.sector] if rng.random() < 0.9 else None,
            c.revenue if rng.random() < 0.85 else None, c.employees if rng.random() < 0.9 else None,
            rng.choice((f"http://www.{c.domain}", f"https://www.{c.domain}", f"www.{c.domain}")),
            rng.choice(owners), c.created,
        ])
    workbook = _dynamics_workbook("Active Accounts", "account", header, rows, {
        "(Do Not Modify) Modified On": _DYNAMICS_DATETIME, "Created On": _DYNAMICS_DATETIME,
        "Annual Revenue": '"$"#,##0.00', "No. of Employees": "0",
    })
    path = folder / "Active Accounts 10-2-2023 9-41-07 AM.xlsx"
    workbook.save(path)
    return VendorFile(
        path=path, kind="customers", rows=len(rows),
        expected_roles={
            "(Do Not Modify) Account": "account_id", "Account Name": "account_name", "Address 1: City": "city",
            "Address 1: Country/Region": "country", "Industry": "industry", "Annual Revenue": "revenue",
            "No. of Employees": "employees", "Website": "domain",
        },
        excluded={
            "(Do Not Modify) Row Checksum": "identifier", "Main Phone": "phone", "Address 1: Street 1": "address",
            "Address 1: ZIP/Postal Code": "postal_code", "Email": "email",
        },
    )


def dynamics_opportunities(folder: Path) -> VendorFile:
    """Dynamics 365 Sales, "All Opportunities" view, Export to Excel: Status Open / Won / Lost."""
    rng = random.Random(1010)
    companies = _companies(rng, 24)
    owners = _people(rng, 4)
    statuses = _stages(rng, {"Won": 16, "Lost": 13, "Open": 21})
    header = [
        "(Do Not Modify) Opportunity", "(Do Not Modify) Row Checksum", "(Do Not Modify) Modified On", "Topic",
        "Potential Customer", "Est. Close Date", "Est. Revenue", "Actual Close Date", "Actual Revenue", "Status",
        "Status Reason", "Probability", "Owner", "Created On",
    ]
    rows = []
    for status in statuses:
        guid, checksum = _dynamics_ids(rng)
        company = rng.choice(companies)
        created = _moment(rng, datetime(2022, 1, 10, 8), 540).replace(microsecond=0)
        estimated_close = (created + timedelta(days=rng.randint(20, 150))).replace(hour=0, minute=0, second=0)
        estimate = float(rng.randint(10, 900) * 100)
        actual_close = (estimated_close + timedelta(days=rng.randint(-15, 30))) if status != "Open" else None
        actual = {"Won": estimate * rng.choice((1.0, 1.0, 0.9, 1.1)), "Lost": 0.0}.get(status)
        reason = {"Won": "Won", "Lost": rng.choice(("Canceled", "Out-Sold")),
                  "Open": rng.choice(("In Progress", "In Progress", "On Hold"))}[status]
        probability = {"Won": 100, "Lost": 0}.get(status, rng.choice((10, 20, 40, 60, 80)))
        rows.append([
            guid, checksum, _later(rng, actual_close or created, 30), _deal_label(rng, company), company.name,
            estimated_close, estimate, actual_close, actual, status, reason, probability, rng.choice(owners),
            created,
        ])
    workbook = _dynamics_workbook("All Opportunities", "opportunity", header, rows, {
        "(Do Not Modify) Modified On": _DYNAMICS_DATETIME, "Created On": _DYNAMICS_DATETIME,
        "Est. Close Date": "m/d/yyyy", "Actual Close Date": "m/d/yyyy", "Est. Revenue": '"$"#,##0.00',
        "Actual Revenue": '"$"#,##0.00',
    })
    path = folder / "All Opportunities 10-2-2023 9-44-52 AM.xlsx"
    workbook.save(path)
    return VendorFile(
        path=path, kind="deals", rows=len(rows),
        expected_roles={
            "(Do Not Modify) Opportunity": "deal_id", "Topic": "deal_name", "Potential Customer": "account_name",
            "Est. Revenue": "amount", "Actual Close Date": "closed_date", "Status": "deal_stage", "Owner": "owner",
            "Created On": "created_date",
        },
        outcomes=_outcomes([s.lower() for s in statuses]),
    )


# --- Zoho CRM ----------------------------------------------------------------------------------

def _zoho_ids(rng: random.Random, count: int, start: int) -> list[str]:
    ids, current = [], start
    for _ in range(count):
        current += rng.randint(1, 40)
        ids.append(f"zcrm_{current}")
    return ids


def _zoho_time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def zoho_accounts(folder: Path) -> VendorFile:
    """Zoho CRM export of Accounts (CSV, every value quoted, zcrm_ record ids)."""
    rng = random.Random(1111)
    companies = _companies(rng, 50)
    ids = _zoho_ids(rng, len(companies), 5725767000000428001)
    owners = _people(rng, 4)
    header = [
        "Record Id", "Account Owner", "Account Name", "Phone", "Website", "Account Type", "Industry", "Employees",
        "Annual Revenue", "Billing Street", "Billing City", "Billing State", "Billing Code", "Billing Country",
        "Description", "Created Time", "Modified Time",
    ]
    rows = []
    for record_id, c in zip(ids, companies, strict=True):
        rows.append([
            record_id, rng.choice(owners), c.name, c.phone(rng, "dash") if rng.random() < 0.9 else "",
            rng.choice((f"www.{c.domain}", f"http://www.{c.domain}", f"https://{c.domain}")),
            rng.choice(("Customer", "Customer", "Prospect", "Partner", "Reseller", "Vendor", "Analyst", "")),
            _ZOHO_INDUSTRY[c.sector] if rng.random() < 0.9 else "",
            c.employees if rng.random() < 0.9 else "", _number(c.revenue) if rng.random() < 0.85 else "",
            c.street, c.city, c.state, c.postal, rng.choice(("United States", "USA")) if c.us else c.country,
            c.description if rng.random() < 0.7 else "", _zoho_time(c.created),
            _zoho_time(_later(rng, c.created, 300)),
        ])
    path = _csv(folder / "Accounts_001.csv", header, rows, quoting=csv.QUOTE_ALL, lineterminator="\n")
    return VendorFile(
        path=path, kind="customers", rows=len(rows),
        expected_roles={
            "Record Id": "account_id", "Account Name": "account_name", "Website": "domain", "Industry": "industry",
            "Employees": "employees", "Annual Revenue": "revenue", "Billing City": "city", "Billing State": "state",
            "Billing Country": "country",
        },
        excluded={"Phone": "phone", "Billing Street": "address", "Billing Code": "postal_code",
                  "Description": "free_text"},
    )


_ZOHO_STAGES = {"Qualification": 10, "Negotiation/Review": 90, "Closed Won": 100, "Closed Lost": 0}


def zoho_deals(folder: Path) -> VendorFile:
    """Zoho CRM export of Deals (CSV, every value quoted)."""
    rng = random.Random(1212)
    companies = _companies(rng, 22)
    owners = _people(rng, 4)
    stages = _stages(rng, {"Closed Won": 15, "Closed Lost": 13, "Qualification": 12, "Negotiation/Review": 10})
    ids = _zoho_ids(rng, len(stages), 5725767000001203001)
    header = [
        "Record Id", "Deal Owner", "Deal Name", "Account Name", "Amount", "Stage", "Closing Date", "Created Time",
        "Lead Source", "Type", "Probability (%)", "Expected Revenue",
    ]
    rows = []
    for record_id, stage in zip(ids, stages, strict=True):
        company = rng.choice(companies)
        created = _moment(rng, datetime(2022, 1, 4, 8), 560)
        closing = (created + timedelta(days=rng.randint(7, 160))).date()
        amount = float(rng.randint(10, 700) * 100)
        probability = _ZOHO_STAGES[stage]
        rows.append([
            record_id, rng.choice(owners), _deal_label(rng, company), company.name, _number(amount), stage,
            closing.isoformat(), _zoho_time(created),
            rng.choice(("Advertisement", "Cold Call", "Employee Referral", "External Referral", "Online Store",
                        "Partner", "Trade Show", "Web Download", "Web Research", "")),
            rng.choice(("New Business", "Existing Business")), probability, _number(amount * probability / 100),
        ])
    path = _csv(folder / "Deals_001.csv", header, rows, quoting=csv.QUOTE_ALL, lineterminator="\n")
    return VendorFile(
        path=path, kind="deals", rows=len(rows),
        expected_roles={
            "Record Id": "deal_id", "Deal Owner": "owner", "Deal Name": "deal_name", "Account Name": "account_name",
            "Amount": "amount", "Stage": "deal_stage", "Closing Date": "closed_date", "Created Time": "created_date",
        },
        outcomes=_outcomes([_sf_outcome(s) for s in stages]),
    )


# --- Odoo --------------------------------------------------------------------------------------

def _odoo_xmlid(rng: random.Random, model: str, record: int) -> str:
    return f"__export__.{model.replace('.', '_')}_{record}_{rng.getrandbits(32):08x}"


def _odoo_time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def odoo_contacts(folder: Path) -> VendorFile:
    """Odoo Contacts (res.partner) "Export" to CSV: every value quoted, Python booleans, 8 rows: six
    companies and two people who work at them."""
    rng = random.Random(1313)
    companies = _companies(rng, 6, abroad_share=0.3)
    salespeople = ("Mitchell Admin", "Marc Demo")
    header = ["ID", "Name", "Is a Company", "Customer", "Vendor", "Email", "Phone", "Street", "City", "Zip",
              "Country", "Website", "Industry", "Tags", "Salesperson"]
    tags = ("Services", "Prospects", "Manufacturer", "Consulting Services", "Office Supplies", "VIP")
    rows = []
    record = 9
    for index, c in enumerate(companies):
        record += rng.randint(1, 6)
        customer = index != 5
        rows.append([
            _odoo_xmlid(rng, "res.partner", record), c.name, "True", "1" if customer else "0",
            "0" if customer else "1", f"info@{c.domain}", c.phone(rng, "intl"), c.street, c.city, c.postal,
            c.country, f"https://www.{c.domain}" if rng.random() < 0.5 else f"http://{c.domain}",
            _ODOO_INDUSTRY[c.sector], ",".join(rng.sample(tags, rng.randint(1, 2))), rng.choice(salespeople),
        ])
        if index in (0, 2):  # a person of the company: an individual contact, not an account of its own
            person = _person(rng)
            record += 1
            rows.append([
                _odoo_xmlid(rng, "res.partner", record), person, "False", "1", "0", _email(person, c.domain),
                c.phone(rng, "intl"), c.street, c.city, c.postal, c.country, "", "", "", rng.choice(salespeople),
            ])
    path = _csv(folder / "Contact (res.partner).csv", header, rows, quoting=csv.QUOTE_ALL)
    return VendorFile(
        path=path, kind="customers", rows=len(rows),
        expected_roles={
            "ID": "account_id", "Name": "account_name", "City": "city", "Country": "country", "Website": "domain",
            "Industry": "industry",
        },
        not_roles={"Customer": "account_name"},
        excluded={"Email": "email", "Phone": "phone", "Street": "address", "Zip": "postal_code"},
    )


def odoo_pipeline(folder: Path) -> VendorFile:
    """Odoo CRM pipeline (crm.lead) "Export" to CSV. Lost opportunities are archived in Odoo, so the
    default export holds won and open ones only."""
    rng = random.Random(1414)
    companies = _companies(rng, 18)
    salespeople = ("Mitchell Admin", "Marc Demo", "Jordan Diaz")
    stages = _stages(rng, {"Won": 14, "New": 9, "Qualified": 9, "Proposition": 10})
    probability = {"New": (5.0, 10.0, 12.86), "Qualified": (20.0, 30.0, 34.21), "Proposition": (60.0, 70.0, 73.5)}
    header = ["ID", "Opportunity", "Customer", "Expected Revenue", "Stage", "Created on", "Closed Date",
              "Salesperson", "Probability"]
    rows = []
    record = 20
    for stage in stages:
        record += rng.randint(1, 4)
        company = rng.choice(companies)
        created = _moment(rng, datetime(2022, 3, 1, 8), 520)
        won = stage == "Won"
        rows.append([
            _odoo_xmlid(rng, "crm.lead", record), _deal_label(rng, company).replace(" - ", ": "), company.name,
            str(float(rng.randint(8, 600) * 100)), stage, _odoo_time(created),
            _odoo_time(_later(rng, created, 140)) if won else "", rng.choice(salespeople),
            "100.0" if won else str(rng.choice(probability[stage])),
        ])
    path = _csv(folder / "Lead-Opportunity (crm.lead).csv", header, rows, quoting=csv.QUOTE_ALL)
    return VendorFile(
        path=path, kind="deals", rows=len(rows),
        expected_roles={
            "ID": "deal_id", "Opportunity": "deal_name", "Customer": "account_name", "Expected Revenue": "amount",
            "Stage": "deal_stage", "Created on": "created_date", "Closed Date": "closed_date",
            "Salesperson": "owner",
        },
        outcomes=_outcomes(["won" if s == "Won" else "open" for s in stages]),
    )


VENDOR_FILES: list[Callable[[Path], VendorFile]] = [
    salesforce_accounts,
    salesforce_opportunities,
    salesforce_report_xlsx,
    hubspot_companies,
    hubspot_deals_xlsx,
    hubspot_companies_parquet,
    hubspot_deals_parquet,
    pipedrive_deals,
    dynamics_accounts,
    dynamics_opportunities,
    zoho_accounts,
    zoho_deals,
    odoo_contacts,
    odoo_pipeline,
]
