// @alicloud/iot20180120 (Tea): ACS3-HMAC-SHA256 (its default) and V1 ('v2').
import { clientSuite } from '../lib/suite.mjs';

clientSuite('tea-v3');
clientSuite('tea-v2');
