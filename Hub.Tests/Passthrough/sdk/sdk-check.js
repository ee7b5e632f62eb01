// Runs Mailchimp's official Node SDK (@mailchimp/mailchimp_marketing) against Hub's passthrough, the way
// docs/api.md (Passthrough) tells a host application to: its own ApiClient, basePath set to Hub's /api/v1/mailchimp, the tenant
// key as accessToken (sent as Bearer) and no `server`. Makes every call docs/api.md lists as checked and prints
// one JSON array: [{"call": "lists.getList", "ok": true}, {"call": ..., "ok": false, "status": 404, "error": "..."}].
// Started by Hub.Tests/Passthrough/NodeSdkTests.cs with:
//   HUB_PASSTHROUGH_URL  e.g. http://127.0.0.1:5080/api/v1/mailchimp
//   HUB_TENANT_KEY       the tenant's Hub API key
//   HUB_ACCOUNT_ID       the Mailchimp account the tenant is connected to (getRoot must name it)
'use strict';

const crypto = require('crypto');
const ApiClient = require('@mailchimp/mailchimp_marketing/src/ApiClient');

const client = new ApiClient();
client.basePath = process.env.HUB_PASSTHROUGH_URL;
client.setConfig({ accessToken: process.env.HUB_TENANT_KEY });

const hash = email => crypto.createHash('md5').update(email.toLowerCase()).digest('hex');
const results = [];

/** Runs one SDK call; `check` returns a complaint about its answer, or nothing when it is right. */
async function call(name, run, check) {
  try {
    const value = await run();
    const complaint = check ? check(value) : undefined;
    results.push(complaint ? { call: name, ok: false, error: complaint } : { call: name, ok: true });
    return value;
  } catch (error) {
    const body = error.response && error.response.body;
    results.push({ call: name, ok: false, status: error.status, error: body ? JSON.stringify(body) : String(error) });
    return undefined;
  }
}

/** A call Hub must refuse before anything reaches Mailchimp: it succeeds when the SDK sees that 403 problem. */
async function refused(name, run, status, type) {
  try {
    await run();
    results.push({ call: name, ok: false, error: 'expected a refusal, got a success' });
  } catch (error) {
    const body = (error.response && error.response.body) || {};
    const ok = error.status === status && body.type === type;
    results.push(ok ? { call: name, ok: true } : { call: name, ok: false, status: error.status, error: JSON.stringify(body) });
  }
}

async function main() {
  const ann = 'ann@sdk.example.com';
  const bob = 'bob@sdk.example.com';
  const cem = 'cem@sdk.example.com';

  await call('ping.get', () => client.ping.get(), r => (r.health_status ? undefined : 'no health_status'));
  await call('root.getRoot', () => client.root.getRoot(),
    r => (r.account_id === process.env.HUB_ACCOUNT_ID ? undefined : `account_id ${r.account_id}`));

  const list = await call('lists.createList', () => client.lists.createList({
    name: 'SDK audience',
    permission_reminder: 'You signed up in our shop.',
    email_type_option: false,
    contact: { company: 'SDK Shop', address1: '1 Main St', city: 'Atlanta', state: 'GA', zip: '30308', country: 'US' },
    campaign_defaults: { from_name: 'SDK Shop', from_email: 'news@sdk.example.com', subject: 'News', language: 'en' },
  }), r => (r.id ? undefined : 'no id'));
  const id = list ? list.id : 'missing';

  await call('lists.getAllLists', () => client.lists.getAllLists(),
    r => (r.lists.some(l => l.id === id) ? undefined : 'the new audience is not listed'));
  await call('lists.getList', () => client.lists.getList(id), r => (r.name === 'SDK audience' ? undefined : `name ${r.name}`));
  await call('lists.updateList', () => client.lists.updateList(id, { name: 'SDK audience, renamed' }),
    r => (r.name === 'SDK audience, renamed' ? undefined : `name ${r.name}`));
  await call('lists.addListMergeField', () => client.lists.addListMergeField(id, { name: 'Company', type: 'text', tag: 'COMPANY' }),
    r => (r.tag === 'COMPANY' ? undefined : `tag ${r.tag}`));
  await call('lists.getListMergeFields', () => client.lists.getListMergeFields(id),
    r => (r.merge_fields.some(f => f.tag === 'COMPANY') ? undefined : 'COMPANY missing'));

  await call('lists.addListMember', () => client.lists.addListMember(id, { email_address: ann, status: 'subscribed', tags: ['sdk'] }),
    r => (r.status === 'subscribed' ? undefined : `status ${r.status}`));
  await call('lists.setListMember', () => client.lists.setListMember(id, hash(bob), { email_address: bob, status_if_new: 'subscribed', merge_fields: { FNAME: 'Bob' } }),
    r => (r.email_address === bob ? undefined : `email_address ${r.email_address}`));
  await call('lists.updateListMember', () => client.lists.updateListMember(id, hash(bob), { language: 'nl' }),
    r => (r.language === 'nl' ? undefined : `language ${r.language}`));
  await call('lists.getListMember', () => client.lists.getListMember(id, hash(ann)),
    r => (r.email_address === ann ? undefined : `email_address ${r.email_address}`));
  await call('lists.getListMembersInfo', () => client.lists.getListMembersInfo(id),
    r => (r.total_items === 2 ? undefined : `total_items ${r.total_items}`));
  await call('lists.updateListMemberTags', () => client.lists.updateListMemberTags(id, hash(ann), { tags: [{ name: 'vip', status: 'active' }] }));
  await call('lists.getListMemberTags', () => client.lists.getListMemberTags(id, hash(ann)),
    r => (r.tags.map(t => t.name).sort().join(',') === 'sdk,vip' ? undefined : `tags ${JSON.stringify(r.tags)}`));
  await call('lists.batchListMembers', () => client.lists.batchListMembers(id, { members: [{ email_address: cem, status: 'subscribed' }], update_existing: true }),
    r => (r.total_created === 1 ? undefined : `total_created ${r.total_created}, errors ${JSON.stringify(r.errors)}`));
  await call('lists.deleteListMember', () => client.lists.deleteListMember(id, hash(bob)));
  await call('lists.deleteListMemberPermanent', () => client.lists.deleteListMemberPermanent(id, hash(cem)));

  await refused('campaigns.create (refused)', () => client.campaigns.create({ type: 'regular' }), 403, 'urn:hub:problem:passthrough_write_not_allowed');
  await call('lists.deleteList', () => client.lists.deleteList(id));

  console.log(JSON.stringify(results));
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
