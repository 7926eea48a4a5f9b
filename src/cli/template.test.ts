import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGoTemplate, TemplateError } from './template.js';

const inspect = {
  Id: 'abc123',
  Name: '/web',
  State: { Running: true, ExitCode: 0, Status: 'running' },
  Config: { Env: ['A=1', 'B=2'], Labels: { k: 'v', 'com.example.x': 'y' }, Cmd: null },
  Mounts: [],
  Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] },
};

describe('parseGoTemplate', () => {
  const cases: [string, string, unknown, string][] = [
    ['plain text', 'hello', inspect, 'hello'],
    ['top-level field', '{{.Id}}', inspect, 'abc123'],
    ['nested bool', '{{.State.Running}}', inspect, 'true'],
    ['nested number', '{{.State.ExitCode}}', inspect, '0'],
    ['slice prints like Go', '{{.Config.Env}}', inspect, '[A=1 B=2]'],
    ['map prints sorted like Go', '{{.Config.Labels}}', inspect, 'map[com.example.x:y k:v]'],
    ['null prints <nil>', '{{.Config.Cmd}}', inspect, '<nil>'],
    ['missing key prints <no value>', '{{.Nope}}', inspect, '<no value>'],
    ['json of a slice', '{{json .Config.Env}}', inspect, '["A=1","B=2"]'],
    ['json of dot', '{{json .State}}', inspect, '{"Running":true,"ExitCode":0,"Status":"running"}'],
    ['index with a dotted key', '{{index .Config.Labels "com.example.x"}}', inspect, 'y'],
    ['index of a missing key is empty', '{{index .Config.Labels "nope"}}', inspect, ''],
    ['nested index', '{{(index (index .Ports "80/tcp") 0).HostPort}}', inspect, '8080'],
    ['pipeline', '{{.Name | upper}}', inspect, '/WEB'],
    ['lower and join', '{{join .Config.Env ","}} {{lower "AB"}}', inspect, 'A=1,B=2 ab'],
    ['printf', '{{printf "%s:%d" .Id .State.ExitCode}}', inspect, 'abc123:0'],
    ['len', '{{len .Config.Env}}', inspect, '2'],
    ['if true', '{{if .State.Running}}up{{else}}down{{end}}', inspect, 'up'],
    ['if empty slice is false', '{{if .Mounts}}m{{else}}none{{end}}', inspect, 'none'],
    ['else if', '{{if .Mounts}}a{{else if .State.Running}}b{{else}}c{{end}}', inspect, 'b'],
    ['eq', '{{if eq .State.Status "running"}}yes{{end}}', inspect, 'yes'],
    ['range over slice', '{{range .Config.Env}}[{{.}}]{{end}}', inspect, '[A=1][B=2]'],
    ['range over map in key order', '{{range .Config.Labels}}{{.}};{{end}}', inspect, 'y;v;'],
    ['range else', '{{range .Mounts}}x{{else}}empty{{end}}', inspect, 'empty'],
    ['with', '{{with .State}}{{.Status}}{{end}}', inspect, 'running'],
    ['root variable inside range', '{{range .Config.Env}}{{$.Id}}{{end}}', inspect, 'abc123abc123'],
    ['trim markers', 'a  {{- .Id -}}  b', inspect, 'aabc123b'],
    ['raw string', '{{printf `%s!` .Id}}', inspect, 'abc123!'],
    [
      'method-like field with an argument',
      '{{.Label "k"}}',
      { Label: (k: unknown) => `L:${String(k)}` },
      'L:k',
    ],
    ['split and index', '{{index (split "a:b" ":") 1}}', {}, 'b'],
    ['braces in a string literal', '{{"}}"}}', {}, '}}'],
  ];
  for (const [name, source, data, expected] of cases) {
    it(name, () => assert.equal(parseGoTemplate(source).execute(data), expected));
  }

  const errors: [string, string][] = [
    ['unknown function', '{{nosuch .}}'],
    ['unclosed action', '{{.Id'],
    ['missing end', '{{if .Id}}x'],
    ['stray end', '{{end}}'],
  ];
  for (const [name, source] of errors) {
    it(`rejects ${name}`, () => assert.throws(() => parseGoTemplate(source), TemplateError));
  }

  it('fails on a field of nil', () => {
    assert.throws(() => parseGoTemplate('{{.Config.Cmd.X}}').execute(inspect), TemplateError);
  });
});
