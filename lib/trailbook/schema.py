"""The CloudTrail table schema, written once.

The columns and types are AWS's documented Athena CloudTrail table
(athena/latest/ug/create-cloudtrail-table-partition-projection.html). The local
store uses exactly these names and types, so one SQL text runs on DuckDB and
Athena. The free-form blobs are JSON text, as Athena's STRING columns are.
"""

from __future__ import annotations

# A field is (name, type). A type is a scalar name, ("struct", fields), ("array", type)
# or ("map", key, value). Names are the Athena (lower-case) names; CloudTrail's JSON
# keys are camelCase, and the loader matches them case-insensitively.
STRING = "string"
JSON = "json"  # a JSON object kept verbatim as text (Athena STRING)

_SESSION_ISSUER = ("struct", [
    ("type", STRING), ("principalid", STRING), ("arn", STRING),
    ("accountid", STRING), ("username", STRING),
])

USER_IDENTITY = ("struct", [
    ("type", STRING),
    ("principalid", STRING),
    ("arn", STRING),
    ("accountid", STRING),
    ("invokedby", STRING),
    ("accesskeyid", STRING),
    ("username", STRING),
    ("onbehalfof", ("struct", [("userid", STRING), ("identitystorearn", STRING)])),
    ("sessioncontext", ("struct", [
        ("attributes", ("struct", [("mfaauthenticated", STRING), ("creationdate", STRING)])),
        ("sessionissuer", _SESSION_ISSUER),
        ("ec2roledelivery", STRING),
        ("webidfederationdata", ("struct", [
            ("federatedprovider", STRING),
            ("attributes", ("map", STRING, STRING)),
        ])),
    ])),
])

COLUMNS: list[tuple[str, object]] = [
    ("eventversion", STRING),
    ("useridentity", USER_IDENTITY),
    ("eventtime", STRING),
    ("eventsource", STRING),
    ("eventname", STRING),
    ("awsregion", STRING),
    ("sourceipaddress", STRING),
    ("useragent", STRING),
    ("errorcode", STRING),
    ("errormessage", STRING),
    ("requestparameters", JSON),
    ("responseelements", JSON),
    ("additionaleventdata", JSON),
    ("requestid", STRING),
    ("eventid", STRING),
    ("readonly", STRING),
    ("resources", ("array", ("struct", [("arn", STRING), ("accountid", STRING), ("type", STRING)]))),
    ("eventtype", STRING),
    ("apiversion", STRING),
    ("recipientaccountid", STRING),
    ("serviceeventdetails", JSON),
    ("sharedeventid", STRING),
    ("vpcendpointid", STRING),
    ("vpcendpointaccountid", STRING),
    ("eventcategory", STRING),
    ("addendum", ("struct", [
        ("reason", STRING), ("updatedfields", STRING),
        ("originalrequestid", STRING), ("originaleventid", STRING),
    ])),
    ("sessioncredentialfromconsole", STRING),
    ("edgedevicedetails", JSON),
    ("tlsdetails", ("struct", [
        ("tlsversion", STRING), ("ciphersuite", STRING), ("clientprovidedhostheader", STRING),
    ])),
]

# Partition columns, as the Athena table projects them from
# AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/.
# Locally they are derived from the event itself (recipientAccountId, awsRegion,
# eventTime), which is what the S3 path encodes for real trails.
PARTITIONS: list[tuple[str, str]] = [
    ("account_partition", STRING),
    ("region_partition", STRING),
    ("date_partition", STRING),  # 'yyyy/MM/dd', Athena's projection.<col>.format
]

COLUMN_NAMES = [name for name, _ in COLUMNS]
PARTITION_NAMES = [name for name, _ in PARTITIONS]
JSON_COLUMNS = [name for name, typ in COLUMNS if typ == JSON]

# The canonical camelCase key for each top-level column (CloudTrail's record keys).
CAMEL = {
    "eventversion": "eventVersion", "useridentity": "userIdentity", "eventtime": "eventTime",
    "eventsource": "eventSource", "eventname": "eventName", "awsregion": "awsRegion",
    "sourceipaddress": "sourceIPAddress", "useragent": "userAgent", "errorcode": "errorCode",
    "errormessage": "errorMessage", "requestparameters": "requestParameters",
    "responseelements": "responseElements", "additionaleventdata": "additionalEventData",
    "requestid": "requestID", "eventid": "eventID", "readonly": "readOnly",
    "resources": "resources", "eventtype": "eventType", "apiversion": "apiVersion",
    "recipientaccountid": "recipientAccountId", "serviceeventdetails": "serviceEventDetails",
    "sharedeventid": "sharedEventID", "vpcendpointid": "vpcEndpointId",
    "vpcendpointaccountid": "vpcEndpointAccountId", "eventcategory": "eventCategory",
    "addendum": "addendum", "sessioncredentialfromconsole": "sessionCredentialFromConsole",
    "edgedevicedetails": "edgeDeviceDetails", "tlsdetails": "tlsDetails",
}


def duckdb_type(typ) -> str:
    """The DuckDB type for a schema type (JSON blobs become JSON, read verbatim)."""
    if typ == STRING:
        return "VARCHAR"
    if typ == JSON:
        return "JSON"
    kind = typ[0]
    if kind == "struct":
        return "STRUCT(" + ", ".join(f'"{n}" {duckdb_type(t)}' for n, t in typ[1]) + ")"
    if kind == "array":
        return duckdb_type(typ[1]) + "[]"
    if kind == "map":
        return f"MAP({duckdb_type(typ[1])}, {duckdb_type(typ[2])})"
    raise ValueError(f"unknown schema type {typ!r}")


def athena_type(typ) -> str:
    """The Hive/Athena DDL type for a schema type."""
    if typ in (STRING, JSON):
        return "STRING"
    kind = typ[0]
    if kind == "struct":
        return "STRUCT<" + ", ".join(f"{n}:{athena_type(t)}" for n, t in typ[1]) + ">"
    if kind == "array":
        return f"ARRAY<{athena_type(typ[1])}>"
    if kind == "map":
        return f"MAP<{athena_type(typ[1])},{athena_type(typ[2])}>"
    raise ValueError(f"unknown schema type {typ!r}")


def store_type(typ) -> str:
    """The DuckDB type a column has in the local store: JSON blobs are stored as text."""
    return "VARCHAR" if typ == JSON else duckdb_type(typ)


def records_struct() -> str:
    """The `columns=` type for DuckDB read_json over `{"Records": [...]}` files."""
    return "STRUCT(" + ", ".join(f'"{n}" {duckdb_type(t)}' for n, t in COLUMNS) + ")[]"


def store_table_ddl(table: str = "cloudtrail") -> str:
    cols = [f'"{n}" {store_type(t)}' for n, t in COLUMNS]
    cols += [f'"{n}" VARCHAR' for n, _ in PARTITIONS]
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  " + ",\n  ".join(cols) + "\n)"
