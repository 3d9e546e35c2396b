# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Private to the alicloud.ram collection: documents module_utils/common_args.py.


class ModuleDocFragment(object):

    # Options shared by every module (authentication, region, endpoints, retries, timeouts).
    DOCUMENTATION = r'''
options:
  access_key_id:
    description:
      - Alibaba Cloud AccessKey ID.
      - Credentials are taken from the first source that provides them, in this order
        (1) O(access_key_id) and O(access_key_secret), with O(security_token);
        (2) the environment variables E(ALIBABA_CLOUD_ACCESS_KEY_ID), E(ALIBABA_CLOUD_ACCESS_KEY_SECRET) and
        E(ALIBABA_CLOUD_SECURITY_TOKEN), then the legacy E(ALICLOUD_ACCESS_KEY), E(ALICLOUD_SECRET_KEY) and
        E(ALICLOUD_SECURITY_TOKEN);
        (3) the profile named by O(profile);
        (4) the instance RAM role named by O(ecs_role_name);
        (5) the current profile of C(~/.aliyun/config.json), then the C([default]) section of
        C(~/.alibabacloud/credentials.ini).
        O(assume_role) (or its environment fallback E(ALICLOUD_ASSUME_ROLE_ARN)) is then applied on top of the credentials found.
      - Environment variables set to an empty string count as unset.
      - Setting only one of O(access_key_id) and O(access_key_secret) is an error.
    type: str
    aliases: [alicloud_access_key]
  access_key_secret:
    description:
      - Alibaba Cloud AccessKey secret. Never logged or returned.
      - Falls back to E(ALIBABA_CLOUD_ACCESS_KEY_SECRET), then E(ALICLOUD_SECRET_KEY), together with the matching AccessKey ID.
    type: str
    aliases: [alicloud_secret_key]
  security_token:
    description:
      - STS security token, needed with temporary AccessKeys (ID starting with C(STS.)). Never logged or returned.
      - Falls back to E(ALIBABA_CLOUD_SECURITY_TOKEN), then E(ALICLOUD_SECURITY_TOKEN), together with the matching AccessKey pair.
    type: str
    aliases: [alicloud_security_token]
  region:
    description:
      - Region ID, for example V(cn-hangzhou).
      - Falls back to E(ALIBABA_CLOUD_REGION_ID), then E(ALICLOUD_REGION).
      - RAM and STS are global and default to V(cn-hangzhou); ECS operations need a region.
    type: str
    aliases: [alicloud_region, region_id]
  profile:
    description:
      - Name of a profile of the Alibaba Cloud CLI file C(~/.aliyun/config.json) (modes C(AK), C(StsToken),
        C(RamRoleArn), C(ChainableRamRoleArn), C(EcsRamRole)) or, when that file has no such profile, of the
        credentials file C(~/.alibabacloud/credentials.ini) (types C(access_key), C(sts), C(ram_role_arn), C(ecs_ram_role)).
      - Falls back to E(ALIBABA_CLOUD_PROFILE). E(ALIBABA_CLOUD_CREDENTIALS_FILE) sets another credentials file;
        E(ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true) skips the CLI file.
      - An unknown profile name is an error.
    type: str
  ecs_role_name:
    description:
      - Use the temporary credentials of this instance RAM role, read from the ECS metadata service.
        Works only on an ECS instance that holds the role (or against an emulator, see O(metadata_endpoint)).
      - Falls back to E(ALIBABA_CLOUD_ECS_METADATA). E(ALIBABA_CLOUD_IMDSV1_DISABLED=true) requires hardened
        (token) access to the metadata service.
      - Not to be confused with the role a module manages.
    type: str
  metadata_endpoint:
    description:
      - Base URL of the ECS metadata service used by O(ecs_role_name).
      - Falls back to E(ALIBABA_CLOUD_METADATA_ENDPOINT), then V(http://100.100.100.200).
    type: str
  assume_role:
    description:
      - Call STS AssumeRole with the credentials found and use the role's temporary credentials instead.
      - When this option is not set, E(ALICLOUD_ASSUME_ROLE_ARN) supplies O(assume_role.role_arn), with
        E(ALICLOUD_ASSUME_ROLE_SESSION_NAME) for O(assume_role.session_name) and
        E(ALICLOUD_ASSUME_ROLE_SESSION_EXPIRATION) (seconds) for O(assume_role.duration_seconds)
        (the names the C(alibaba.alicloud) collection uses). An empty E(ALICLOUD_ASSUME_ROLE_ARN) assumes no role.
      - When this option is set, those environment variables are ignored.
    type: dict
    suboptions:
      role_arn:
        description: ARN of the role to assume, for example V(acs:ram::1234567890123456:role/deployer).
        type: str
        required: true
      session_name:
        description: Role session name. Defaults to V(ansible-alicloud-ram).
        type: str
      duration_seconds:
        description: Lifetime of the temporary credentials, from 900 seconds to the role's maximum session duration.
        type: int
      policy:
        description: Session policy (a dict or JSON string) that further restricts the assumed role's permissions.
        type: json
      external_id:
        description: External ID required by the role's trust policy, if any.
        type: str
  ram_endpoint:
    description:
      - RAM endpoint, as a host (V(ram.aliyuncs.com)), V(host:port), or a URL (V(http://127.0.0.1:8555));
        the URL scheme sets the protocol (default HTTPS). A URL must not have a path.
      - Falls back to E(ALIBABA_CLOUD_RAM_ENDPOINT); by default the SDK's endpoint for the region is used.
    type: str
  ecs_endpoint:
    description:
      - ECS endpoint, in the same forms as O(ram_endpoint).
      - Falls back to E(ALIBABA_CLOUD_ECS_ENDPOINT); by default the SDK's endpoint for the region is used.
    type: str
  sts_endpoint:
    description:
      - STS endpoint (used by O(assume_role) and C(RamRoleArn) profiles), in the same forms as O(ram_endpoint).
      - Falls back to E(ALIBABA_CLOUD_STS_ENDPOINT); by default the SDK's endpoint for the region is used.
    type: str
  retries:
    description:
      - How many times a failed API call is retried (throttling, C(ServiceUnavailable), C(InternalError),
        HTTP 5xx and connection errors), with jittered exponential backoff capped at 20 seconds.
      - V(0) disables retries.
    type: int
    default: 5
  connect_timeout:
    description: Connection timeout of each API call, in seconds.
    type: int
    default: 5
  read_timeout:
    description: Read timeout of each API call, in seconds.
    type: int
    default: 10
notes:
  - Set the authentication options once for every module of the collection with
    C(module_defaults) and the action group C(group/alicloud.ram.alicloud).
  - Secrets (O(access_key_secret), O(security_token) and any temporary credentials) never appear in results,
    diffs, warnings or error messages.
'''
