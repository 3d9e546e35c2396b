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
      - A credential source set on the task (directly or through C(module_defaults)) comes before the environment.
        A task names at most one of them, O(access_key_id) with O(access_key_secret) (and O(security_token)),
        O(profile), O(ecs_role_name), or O(oidc_provider_arn) with O(oidc_token_file); setting two of them is an
        error naming both. An explicit O(profile) or O(ecs_role_name) is used even when key variables are set in
        the environment.
      - Without one, the first of these that is set is used, in the order of the official credentials library
        (1) the environment variables E(ALIBABA_CLOUD_ACCESS_KEY_ID), E(ALIBABA_CLOUD_ACCESS_KEY_SECRET) and
        E(ALIBABA_CLOUD_SECURITY_TOKEN), then the legacy E(ALICLOUD_ACCESS_KEY), E(ALICLOUD_SECRET_KEY) and
        E(ALICLOUD_SECURITY_TOKEN);
        (2) pod identity (RRSA), when E(ALIBABA_CLOUD_ROLE_ARN), E(ALIBABA_CLOUD_OIDC_PROVIDER_ARN) and
        E(ALIBABA_CLOUD_OIDC_TOKEN_FILE) are all set (see O(oidc_provider_arn));
        (3) the profile named by E(ALIBABA_CLOUD_PROFILE);
        (4) the instance RAM role named by E(ALIBABA_CLOUD_ECS_METADATA);
        (5) the current profile of C(~/.aliyun/config.json), then the C([default]) section of
        C(~/.alibabacloud/credentials.ini).
      - O(assume_role) (or its environment fallback E(ALICLOUD_ASSUME_ROLE_ARN)) is then applied on top of the credentials found.
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
      - Falls back to E(ALIBABA_CLOUD_REGION_ID), then E(ALICLOUD_REGION), then the C(region_id) of the profile the
        credentials came from (O(profile), E(ALIBABA_CLOUD_PROFILE) or the current profile), then, with
        credentials of an instance RAM role (O(ecs_role_name)), the region of the instance from the metadata service.
      - RAM and STS are global and default to V(cn-hangzhou); ECS operations need a region.
      - With C(-vvv) the result's C(region_source) says where the region came from.
    type: str
    aliases: [alicloud_region, region_id]
  profile:
    description:
      - Name of a profile of the Alibaba Cloud CLI file C(~/.aliyun/config.json) (modes C(AK), C(StsToken),
        C(RamRoleArn), C(ChainableRamRoleArn), C(EcsRamRole)) or, when that file has no such profile, of the
        credentials file C(~/.alibabacloud/credentials.ini) (types C(access_key), C(sts), C(ram_role_arn), C(ecs_ram_role)).
      - Falls back to E(ALIBABA_CLOUD_PROFILE) (after the key variables, see O(access_key_id)).
        E(ALIBABA_CLOUD_CREDENTIALS_FILE) sets another credentials file;
        E(ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true) skips the CLI file.
      - The profile's C(region_id), if any, is used when no region is set (see O(region)).
      - An unknown profile name is an error.
    type: str
  ecs_role_name:
    description:
      - Use the temporary credentials of this instance RAM role, read from the ECS metadata service.
        Works only on an ECS instance that holds the role (or against an emulator, see O(metadata_endpoint)).
      - Falls back to E(ALIBABA_CLOUD_ECS_METADATA) (after the key variables and E(ALIBABA_CLOUD_PROFILE)).
        E(ALIBABA_CLOUD_IMDSV1_DISABLED=true) requires hardened (token) access to the metadata service.
      - The metadata service is reached through the same proxy settings as the API (see O(http_proxy), O(no_proxy)).
      - Not to be confused with the role a module manages.
    type: str
  oidc_provider_arn:
    description:
      - ARN of the OIDC identity provider for pod identity (RRSA, for example a job on Alibaba Cloud Container
        Service for Kubernetes), for example V(acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0123).
      - Used with O(oidc_token_file) and O(assume_role.role_arn), the role to assume; O(assume_role.session_name),
        O(assume_role.duration_seconds) and O(assume_role.policy) apply as well. The temporary credentials come from
        STS C(AssumeRoleWithOIDC), an anonymous call (no AccessKey signs it) sent to O(sts_endpoint).
      - Without the options, E(ALIBABA_CLOUD_ROLE_ARN), E(ALIBABA_CLOUD_OIDC_PROVIDER_ARN) and
        E(ALIBABA_CLOUD_OIDC_TOKEN_FILE) (all three, as ACK injects them into a pod), with
        E(ALIBABA_CLOUD_ROLE_SESSION_NAME) for the session name, are used after the key variables
        (see O(access_key_id)); O(assume_role) then applies on top of the pod's role.
      - A token that has expired or that STS does not trust fails the task before any change, naming the token
        file (never the token).
    type: str
  oidc_token_file:
    description:
      - Path of the file holding the OIDC token of O(oidc_provider_arn); read on every run, as the platform
        rewrites it before the token expires.
    type: path
  metadata_endpoint:
    description:
      - Base URL of the ECS metadata service used by O(ecs_role_name).
      - Falls back to E(ALIBABA_CLOUD_METADATA_ENDPOINT), then V(http://100.100.100.200).
    type: str
  assume_role:
    description:
      - Call STS AssumeRole with the credentials found and use the role's temporary credentials instead.
      - With O(oidc_provider_arn), the role to assume with the OIDC token instead (STS C(AssumeRoleWithOIDC)).
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
        the URL scheme sets the protocol (default HTTPS). A URL must not have a path, query or user information.
      - Falls back to E(ALIBABA_CLOUD_RAM_ENDPOINT). By default V(ram.aliyuncs.com) for every region (RAM is a
        global service), or V(ram.vpc-proxy.aliyuncs.com) with O(network=vpc).
    type: str
  ecs_endpoint:
    description:
      - ECS endpoint, in the same forms as O(ram_endpoint).
      - Falls back to E(ALIBABA_CLOUD_ECS_ENDPOINT). By default the SDK's endpoint for the region, or
        V(ecs-vpc.<region>.aliyuncs.com) with O(network=vpc).
    type: str
  sts_endpoint:
    description:
      - STS endpoint (used by O(assume_role), O(oidc_provider_arn) and C(RamRoleArn) profiles), in the same forms as
        O(ram_endpoint).
      - Falls back to E(ALIBABA_CLOUD_STS_ENDPOINT); by default the SDK's endpoint for the region is used.
    type: str
  network:
    description:
      - V(vpc) sends the API calls to the VPC endpoints (V(ram.vpc-proxy.aliyuncs.com),
        V(ecs-vpc.<region>.aliyuncs.com), V(sts-vpc.<region>.aliyuncs.com)), for controllers inside a VPC
        without internet access. V(public) (the default) uses the public endpoints.
      - Falls back to E(ALIBABA_CLOUD_NETWORK). An explicit endpoint option or variable wins.
    type: str
    choices: [public, vpc]
    version_added: 0.2.0
  retries:
    description:
      - How many times an API call that failed with a server error (C(ServiceUnavailable), C(InternalError),
        HTTP 5xx), a timeout, a connection error or an empty answer is retried, with jittered exponential
        backoff capped at 20 seconds. Throttling is retried without this count, until O(retry_timeout).
      - V(0) disables retries, throttling included. Between 0 and 100.
      - A write whose answer was lost is not counted as failed; a read settles whether it took effect.
    type: int
    default: 5
  retry_timeout:
    description:
      - How long, in seconds, one API call keeps being retried. Flow control comes in storms, so the default
        rides out two minutes of continuous throttling; lower it to fail sooner. Between 0 and 3600.
    type: float
    default: 120
    version_added: 0.2.0
  connect_timeout:
    description:
      - Time allowed to open the connection of each API call, in seconds. Greater than 0, at most 3600.
    type: float
    default: 5
  read_timeout:
    description:
      - Time allowed for each API call as a whole, from sending the request to the last byte of the answer,
        in seconds. An endpoint that sends its answer slowly (even byte by byte) is cut off after this time.
        Greater than 0, at most 3600.
      - When not set, 10 seconds, and for the batch instance RAM role APIs (AttachInstanceRamRole,
        DescribeInstanceRamRole, DetachInstanceRamRole) the 10 to 11 seconds the official SDK core gives them.
      - A call that times out is retried like a connection error, so a task waits at most about
        O(read_timeout) times (O(retries) + 1), plus the backoff, for one call.
    type: float
  http_proxy:
    description:
      - Proxy for API calls to V(http://) endpoints, for example V(http://proxy.example.com:3128).
        May carry user information (V(http://user:password@proxy:3128)); it is never shown.
      - Falls back to E(http_proxy), then E(HTTP_PROXY).
      - With C(-vvv) the result's C(connections) names the proxy used for each service.
    type: str
  https_proxy:
    description:
      - Proxy for API calls to V(https://) endpoints (the default protocol), in the same form as O(http_proxy).
      - Falls back to E(https_proxy), then E(HTTPS_PROXY).
    type: str
  no_proxy:
    description:
      - Endpoints reached directly, never through O(http_proxy) or O(https_proxy). Comma separated entries, each
        a host name or domain suffix (V(example.com) and V(.example.com) both match V(example.com) and
        V(api.example.com)), an IP address or CIDR block (V(10.0.0.0/8)), optionally with V(:port) to exempt
        only that port; V(*) exempts everything.
      - Falls back to E(no_proxy), then E(NO_PROXY).
    type: str
  ca_bundle:
    description:
      - PEM file of the certificate authorities trusted for HTTPS endpoints (and an HTTPS metadata endpoint),
        instead of the system's bundle; for example the CA of a TLS-inspecting proxy or of a private endpoint.
      - Falls back to E(ALIBABA_CLOUD_CA_BUNDLE). A path that is not a file is an error.
    type: path
  validate_certs:
    description:
      - Whether to verify the certificates of HTTPS endpoints. Set to V(false) only for tests against
        endpoints with self-signed certificates; prefer O(ca_bundle).
    type: bool
    default: true
notes:
  - Set the authentication options once for every module of the collection with
    C(module_defaults) and the action group C(group/alicloud.ram.alicloud).
  - Secrets (O(access_key_secret), O(security_token) and any temporary credentials) never appear in results,
    diffs, warnings or error messages; neither do passwords or tokens in URLs (user information, query)
    nor metadata session tokens. Answers of an endpoint that are not the API's (an HTML error page of a proxy)
    are reported with their HTTP status and content type, cut to 1,000 characters.
'''
