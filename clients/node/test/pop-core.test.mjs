// @alicloud/pop-core, RPC V1: GET (its default) and POST.
import { clientSuite } from '../lib/suite.mjs';

clientSuite('pop-get');
clientSuite('pop-post');
