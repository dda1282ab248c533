"""The AWS APIs the demo emits: event source, IAM action, read-only flag, and how AWS logs
their requestParameters (built from an account's resources).

Event names follow CloudTrail, not IAM: `ListBuckets` is `s3:ListAllMyBuckets`, Lambda names
carry API-version suffixes, and `sts:GetCallerIdentity` needs no permission (so IAM's Access
Advisor never records it).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# ServiceNamespace → ServiceName, as Access Advisor reports them. "*" policies list them all.
SERVICE_NAMES: dict[str, str] = {
    "access-analyzer": "IAM Access Analyzer",
    "athena": "Amazon Athena",
    "autoscaling": "Amazon EC2 Auto Scaling",
    "backup": "AWS Backup",
    "ce": "AWS Cost Explorer Service",
    "cloudformation": "AWS CloudFormation",
    "cloudfront": "Amazon CloudFront",
    "cloudtrail": "AWS CloudTrail",
    "cloudwatch": "Amazon CloudWatch",
    "config": "AWS Config",
    "dynamodb": "Amazon DynamoDB",
    "ec2": "Amazon EC2",
    "ec2messages": "Amazon Message Delivery Service",
    "ecr": "Amazon Elastic Container Registry",
    "ecs": "Amazon Elastic Container Service",
    "elasticloadbalancing": "Elastic Load Balancing",
    "events": "Amazon EventBridge",
    "glue": "AWS Glue",
    "guardduty": "Amazon GuardDuty",
    "health": "AWS Health APIs and Notifications",
    "iam": "AWS Identity and Access Management",
    "kms": "AWS Key Management Service",
    "lambda": "AWS Lambda",
    "logs": "Amazon CloudWatch Logs",
    "organizations": "AWS Organizations",
    "rds": "Amazon RDS",
    "route53": "Amazon Route 53",
    "s3": "Amazon S3",
    "secretsmanager": "AWS Secrets Manager",
    "securityhub": "AWS Security Hub",
    "servicequotas": "Service Quotas",
    "sns": "Amazon SNS",
    "sqs": "Amazon SQS",
    "ssm": "AWS Systems Manager",
    "ssmmessages": "Amazon Session Manager Message Gateway Service",
    "states": "AWS Step Functions",
    "sts": "AWS Security Token Service",
}

# Services whose Access Advisor report carries TrackedActionsLastAccessed (ACTION_LEVEL jobs).
TRACKED_SERVICES = frozenset({"s3", "iam", "ec2", "lambda", "dynamodb", "kms", "sts", "secretsmanager", "ssm"})

# Hosts that are not <prefix>.<region>.amazonaws.com.
_GLOBAL_HOSTS = {"iam": "iam.amazonaws.com", "signin": "signin.aws.amazon.com", "ce": "ce.us-east-1.amazonaws.com",
                 "organizations": "organizations.us-east-1.amazonaws.com", "health": "health.us-east-1.amazonaws.com"}
GLOBAL_PREFIXES = frozenset({"iam", "signin", "ce", "organizations", "health"})  # logged in us-east-1

ParamsFn = Callable[[Any, random.Random, str], "tuple[dict | None, list | None]"]


@dataclass(frozen=True, slots=True)
class Api:
    key: str            # "<source prefix>:<eventName>", e.g. "s3:ListBuckets"
    source: str         # eventSource
    name: str           # eventName
    namespace: str      # IAM service namespace (Access Advisor's ServiceNamespace)
    action: str | None  # IAM action name, None when the call needs no permission
    read_only: bool
    version: str        # eventVersion
    params: ParamsFn | None

    @property
    def is_global(self) -> bool:
        return self.key.split(":", 1)[0] in GLOBAL_PREFIXES

    def host(self, region: str) -> str:
        prefix = self.key.split(":", 1)[0]
        return _GLOBAL_HOSTS.get(prefix) or f"{prefix}.{region}.amazonaws.com"


def _none(r, rng, region):
    return None, None


def _const(params: dict) -> ParamsFn:
    return lambda r, rng, region: (params, None)


def _bucket(extra: dict | None = None) -> ParamsFn:
    def build(r, rng, region):
        bucket = rng.choice(r.buckets)
        params = {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com"}
        if extra:
            params.update(extra)
        return params, [{"accountId": r.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}]
    return build


def _instances(r, rng, region):
    ids = r.instances.get(region)
    if not ids or rng.random() < 0.5:  # "describe everything" as often as one instance
        return {"instancesSet": {}, "filterSet": {}}, None
    return {"instancesSet": {"items": [{"instanceId": rng.choice(ids)}]}, "filterSet": {}}, None


def _kms(name: str) -> ParamsFn:
    def build(r, rng, region):
        key = r.kms_key(region)
        if name == "Decrypt":
            params = {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                      "encryptionContext": {"aws:secretsmanager:arn": r.secret_arn(region, rng.choice(r.secrets))}}
        elif name == "GenerateDataKey":
            params = {"keyId": key, "keySpec": "AES_256",
                      "encryptionContext": {
                          "aws:logs:arn": f"arn:aws:logs:{region}:{r.account}:log-group:{rng.choice(r.log_groups)}"}}
        else:
            params = {"keyId": key}
        return params, [{"accountId": r.account, "type": "AWS::KMS::Key", "ARN": key}]
    return build


def _function(extra: dict | None = None) -> ParamsFn:
    def build(r, rng, region):
        params = {"functionName": rng.choice(r.functions)}
        if extra:
            params.update(extra)
        return params, None
    return build


def _table(r, rng, region):
    return {"tableName": rng.choice(r.tables)}, None


def _role(r, rng, region):
    return {"roleName": rng.choice(r.role_names)}, None


def _policy(r, rng, region):
    return {"policyArn": rng.choice(r.policy_arns)}, None


def _policy_version(r, rng, region):
    return {"policyArn": rng.choice(r.policy_arns), "versionId": "v1"}, None


def _user(r, rng, region):
    return {"userName": rng.choice(r.user_names)}, None


def _secret(r, rng, region):
    return {"secretId": r.secret_arn(region, rng.choice(r.secrets))}, None


def _parameter(r, rng, region):
    return {"name": rng.choice(r.parameters), "withDecryption": True}, None


def _log_stream(r, rng, region):
    group = rng.choice(r.log_groups)
    return {"logGroupName": group, "logStreamName": f"{r.account[-4:]}/{rng.getrandbits(32):08x}"}, None


def _log_group(r, rng, region):
    return {"logGroupName": rng.choice(r.log_groups), "startTime": 1, "interleaved": True}, None


def _ssm_instance(r, rng, region):
    ids = r.instances.get(region) or ["i-0" + "0" * 16]
    return {"instanceId": rng.choice(ids), "agentVersion": "3.3.2958.0", "agentStatus": "Active",
            "platformType": "Linux", "platformName": "Amazon Linux", "platformVersion": "2023",
            "iPAddress": r.private_ip(region), "computerName": "ip-10-10-12-34.ec2.internal",
            "agentName": "amazon-ssm-agent", "availabilityZone": f"{region}a"}, None


def _metric_data(r, rng, region):
    return {"startTime": "Oct 1, 2026, 12:00:00 AM", "endTime": "Oct 1, 2026, 1:00:00 AM",
            "metricDataQueries": [{"id": "m1",
                                   "metricStat": {"metric": {"namespace": "AWS/EC2", "metricName": "CPUUtilization"},
                                                  "period": 300, "stat": "Average"},
                                   "returnData": True}]}, None


def _cost(r, rng, region):
    return {"timePeriod": {"start": "2026-09-01", "end": "2026-10-01"}, "granularity": "DAILY",
            "metrics": ["UnblendedCost"], "groupBy": [{"type": "DIMENSION", "key": "SERVICE"}]}, None


def _create_tags(r, rng, region):
    ids = r.instances.get(region) or ["i-0" + "0" * 16]
    return {"resourcesSet": {"items": [{"resourceId": rng.choice(ids)}]},
            "tagSet": {"items": [{"key": "deployed-by", "value": "terraform"}]}}, None


def _trail(r, rng, region):
    return {"name": r.trail_arn}, None


def _detector(r, rng, region):
    return {"detectorId": r.detector_id(region)}, None


def _list_findings(r, rng, region):
    return {"detectorId": r.detector_id(region), "maxResults": 50,
            "findingCriteria": {"criterion": {"service.archived": {"eq": ["false"]}}}}, None


def _s3_host(r, rng, region):
    return {"Host": f"s3.{region}.amazonaws.com"}, None


def _ssm_associations(r, rng, region):
    return {"instanceId": rng.choice(r.instances.get(region) or ["i-0"]), "maxResults": 20}, None


def _lookup_events(r, rng, region):
    return {"maxResults": 50, "lookupAttributes": [{"attributeKey": "ReadOnly", "attributeValue": "false"}]}, None


_ROWS: list[tuple[str, str, str | None, bool, str, ParamsFn | None]] = [
    # key, namespace, IAM action (None: no permission needed), readOnly, eventVersion, params
    ("sts:GetCallerIdentity", "sts", None, True, "1.09", _none),
    ("sts:AssumeRole", "sts", "AssumeRole", True, "1.09", None),
    ("iam:ListUsers", "iam", "ListUsers", True, "1.09", _none),
    ("iam:ListRoles", "iam", "ListRoles", True, "1.09", _none),
    ("iam:ListPolicies", "iam", "ListPolicies", True, "1.09", _const({"scope": "Local", "onlyAttached": False})),
    ("iam:ListGroups", "iam", "ListGroups", True, "1.09", _none),
    ("iam:GetUser", "iam", "GetUser", True, "1.09", _user),
    ("iam:GetRole", "iam", "GetRole", True, "1.09", _role),
    ("iam:GetPolicy", "iam", "GetPolicy", True, "1.09", _policy),
    ("iam:GetPolicyVersion", "iam", "GetPolicyVersion", True, "1.09", _policy_version),
    ("iam:ListAttachedRolePolicies", "iam", "ListAttachedRolePolicies", True, "1.09", _role),
    ("iam:ListRolePolicies", "iam", "ListRolePolicies", True, "1.09", _role),
    ("iam:ListAttachedUserPolicies", "iam", "ListAttachedUserPolicies", True, "1.09", _user),
    ("iam:ListUserPolicies", "iam", "ListUserPolicies", True, "1.09", _user),
    ("iam:ListGroupsForUser", "iam", "ListGroupsForUser", True, "1.09", _user),
    ("iam:GetAccountSummary", "iam", "GetAccountSummary", True, "1.09", _none),
    ("iam:GetAccountPasswordPolicy", "iam", "GetAccountPasswordPolicy", True, "1.09", _none),
    ("iam:ListAccessKeys", "iam", "ListAccessKeys", True, "1.09", _user),
    ("iam:ListMFADevices", "iam", "ListMFADevices", True, "1.09", _user),
    ("iam:GetLoginProfile", "iam", "GetLoginProfile", True, "1.09", _user),
    ("iam:GetAccountAuthorizationDetails", "iam", "GetAccountAuthorizationDetails", True, "1.09", _none),
    ("iam:AttachUserPolicy", "iam", "AttachUserPolicy", False, "1.09", None),
    ("iam:PutUserPolicy", "iam", "PutUserPolicy", False, "1.09", None),
    ("iam:CreateUser", "iam", "CreateUser", False, "1.09", None),
    ("iam:CreateAccessKey", "iam", "CreateAccessKey", False, "1.09", None),
    ("iam:CreateLoginProfile", "iam", "CreateLoginProfile", False, "1.09", None),
    ("ec2:DescribeInstances", "ec2", "DescribeInstances", True, "1.10", _instances),
    ("ec2:DescribeInstanceStatus", "ec2", "DescribeInstanceStatus", True, "1.10",
     _const({"instancesSet": {}, "filterSet": {}, "includeAllInstances": False})),
    ("ec2:DescribeSecurityGroups", "ec2", "DescribeSecurityGroups", True, "1.10",
     _const({"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}})),
    ("ec2:DescribeVpcs", "ec2", "DescribeVpcs", True, "1.10", _const({"vpcSet": {}, "filterSet": {}})),
    ("ec2:DescribeSubnets", "ec2", "DescribeSubnets", True, "1.10", _const({"subnetSet": {}, "filterSet": {}})),
    ("ec2:DescribeImages", "ec2", "DescribeImages", True, "1.10",
     _const({"executableBySet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}})),
    ("ec2:DescribeVolumes", "ec2", "DescribeVolumes", True, "1.10", _const({"volumeSet": {}, "filterSet": {}})),
    ("ec2:DescribeSnapshots", "ec2", "DescribeSnapshots", True, "1.10",
     _const({"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}})),
    ("ec2:DescribeRegions", "ec2", "DescribeRegions", True, "1.10", _const({"regionSet": {}})),
    ("ec2:DescribeKeyPairs", "ec2", "DescribeKeyPairs", True, "1.10", _const({"keySet": {}})),
    ("ec2:DescribeLaunchTemplates", "ec2", "DescribeLaunchTemplates", True, "1.10",
     _const({"DescribeLaunchTemplatesRequest": {"MaxResults": 200}})),
    ("ec2:DescribeInstanceAttribute", "ec2", "DescribeInstanceAttribute", True, "1.10", None),
    ("ec2:GetPasswordData", "ec2", "GetPasswordData", True, "1.10", None),
    ("ec2:CreateKeyPair", "ec2", "CreateKeyPair", False, "1.10", None),
    ("ec2:ModifyInstanceAttribute", "ec2", "ModifyInstanceAttribute", False, "1.10", None),
    ("ec2:CreateTags", "ec2", "CreateTags", False, "1.10", _create_tags),
    ("ec2:RunInstances", "ec2", "RunInstances", False, "1.10", None),
    ("ec2:TerminateInstances", "ec2", "TerminateInstances", False, "1.10", None),
    ("s3:ListBuckets", "s3", "ListAllMyBuckets", True, "1.10", _s3_host),
    ("s3:GetBucketLocation", "s3", "GetBucketLocation", True, "1.10", _bucket({"location": ""})),
    ("s3:GetBucketVersioning", "s3", "GetBucketVersioning", True, "1.10", _bucket({"versioning": ""})),
    ("s3:GetBucketPolicy", "s3", "GetBucketPolicy", True, "1.10", _bucket({"policy": ""})),
    ("s3:GetBucketAcl", "s3", "GetBucketAcl", True, "1.10", _bucket({"acl": ""})),
    ("s3:GetBucketTagging", "s3", "GetBucketTagging", True, "1.10", _bucket({"tagging": ""})),
    ("s3:GetBucketEncryption", "s3", "GetEncryptionConfiguration", True, "1.10", _bucket({"encryption": ""})),
    ("s3:GetBucketPublicAccessBlock", "s3", "GetBucketPublicAccessBlock", True, "1.10",
     _bucket({"publicAccessBlock": ""})),
    ("s3:PutBucketPolicy", "s3", "PutBucketPolicy", False, "1.10", None),
    ("lambda:ListFunctions20150331", "lambda", "ListFunctions", True, "1.09", _none),
    ("lambda:GetFunction20150331v2", "lambda", "GetFunction", True, "1.09", _function()),
    ("lambda:ListVersionsByFunction20150331", "lambda", "ListVersionsByFunction", True, "1.09", _function()),
    ("lambda:UpdateFunctionCode20150331v2", "lambda", "UpdateFunctionCode", False, "1.09",
     _function({"publish": False, "dryRun": False, "architectures": ["arm64"]})),
    ("lambda:PublishVersion20150331", "lambda", "PublishVersion", False, "1.09", _function()),
    ("lambda:AddPermission20150331v2", "lambda", "AddPermission", False, "1.09", None),
    ("dynamodb:DescribeTable", "dynamodb", "DescribeTable", True, "1.09", _table),
    ("dynamodb:ListTables", "dynamodb", "ListTables", True, "1.09", _none),
    ("dynamodb:DescribeTimeToLive", "dynamodb", "DescribeTimeToLive", True, "1.09", _table),
    ("dynamodb:DescribeContinuousBackups", "dynamodb", "DescribeContinuousBackups", True, "1.09", _table),
    ("kms:Decrypt", "kms", "Decrypt", True, "1.09", _kms("Decrypt")),
    ("kms:GenerateDataKey", "kms", "GenerateDataKey", True, "1.09", _kms("GenerateDataKey")),
    ("kms:DescribeKey", "kms", "DescribeKey", True, "1.09", _kms("DescribeKey")),
    ("kms:ListKeys", "kms", "ListKeys", True, "1.09", _none),
    ("secretsmanager:GetSecretValue", "secretsmanager", "GetSecretValue", True, "1.09", _secret),
    ("secretsmanager:DescribeSecret", "secretsmanager", "DescribeSecret", True, "1.09", _secret),
    ("secretsmanager:ListSecrets", "secretsmanager", "ListSecrets", True, "1.09", _none),
    ("ssm:UpdateInstanceInformation", "ssm", "UpdateInstanceInformation", False, "1.09", _ssm_instance),
    ("ssm:ListInstanceAssociations", "ssm", "ListInstanceAssociations", True, "1.09", _ssm_associations),
    ("ssm:GetParameter", "ssm", "GetParameter", True, "1.09", _parameter),
    ("ssm:GetParameters", "ssm", "GetParameters", True, "1.09", None),
    ("ssm:DescribeParameters", "ssm", "DescribeParameters", True, "1.09", _none),
    ("logs:CreateLogStream", "logs", "CreateLogStream", False, "1.09", _log_stream),
    ("logs:DescribeLogGroups", "logs", "DescribeLogGroups", True, "1.09", _none),
    ("logs:FilterLogEvents", "logs", "FilterLogEvents", True, "1.09", _log_group),
    ("monitoring:DescribeAlarms", "cloudwatch", "DescribeAlarms", True, "1.09", _const({"maxRecords": 100})),
    ("monitoring:GetMetricData", "cloudwatch", "GetMetricData", True, "1.09", _metric_data),
    ("ce:GetCostAndUsage", "ce", "GetCostAndUsage", True, "1.09", _cost),
    ("cloudtrail:DescribeTrails", "cloudtrail", "DescribeTrails", True, "1.09", _const({"includeShadowTrails": True})),
    ("cloudtrail:GetTrailStatus", "cloudtrail", "GetTrailStatus", True, "1.09", _trail),
    ("cloudtrail:LookupEvents", "cloudtrail", "LookupEvents", True, "1.09", _lookup_events),
    ("cloudtrail:StopLogging", "cloudtrail", "StopLogging", False, "1.09", _trail),
    ("cloudtrail:StartLogging", "cloudtrail", "StartLogging", False, "1.09", _trail),
    ("guardduty:ListDetectors", "guardduty", "ListDetectors", True, "1.09", _none),
    ("guardduty:GetDetector", "guardduty", "GetDetector", True, "1.09", _detector),
    ("guardduty:ListFindings", "guardduty", "ListFindings", True, "1.09", _list_findings),
    ("guardduty:DeleteDetector", "guardduty", "DeleteDetector", False, "1.09", _detector),
    ("servicequotas:GetServiceQuota", "servicequotas", "GetServiceQuota", True, "1.10",
     _const({"serviceCode": "ec2", "quotaCode": "L-1216C47A"})),
    ("rds:DescribeDBInstances", "rds", "DescribeDBInstances", True, "1.09", _none),
    ("rds:DescribeDBClusters", "rds", "DescribeDBClusters", True, "1.09", _none),
    ("organizations:DescribeOrganization", "organizations", "DescribeOrganization", True, "1.09", _none),
    ("health:DescribeEventAggregates", "health", "DescribeEventAggregates", True, "1.09",
     _const({"aggregateField": "eventTypeCategory", "filter": {"eventStatusCodes": ["open", "upcoming"]}})),
    ("sns:ListTopics", "sns", "ListTopics", True, "1.09", _none),
]

APIS: dict[str, Api] = {}
for _key, _ns, _action, _ro, _version, _params in _ROWS:
    _prefix, _name = _key.split(":", 1)
    APIS[_key] = Api(_key, f"{_prefix}.amazonaws.com", _name, _ns, _action, _ro, _version, _params)


def api(key: str) -> Api:
    try:
        return APIS[key]
    except KeyError:
        raise KeyError(f"unknown demo API {key!r}") from None


def actions_of(namespace: str) -> list[str]:
    """The IAM actions of one service that the catalog knows (for Access Advisor action lists)."""
    return sorted({a.action for a in APIS.values() if a.namespace == namespace and a.action})
