// ps1-parse.mjs - check that PowerShell files parse, with tree-sitter-powershell
//
//   node tests/tools/ps1-parse.mjs NPM_PREFIX FILE...
//
// NPM_PREFIX is a folder where `npm install --prefix NPM_PREFIX
// web-tree-sitter tree-sitter-powershell` was run (the grammar ships as a
// .wasm, so nothing is compiled). Prints "FILE: parses" or each ERROR and
// MISSING node with its line and column; exits 1 when a file has any, 2
// when the parser cannot be loaded.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import v8 from 'node:v8';

// The grammar is a large WebAssembly module: V8's optimizing tier would
// compile it in the background for seconds, and exit waits for that.
// The baseline compiler alone parses a file in a few milliseconds.
v8.setFlagsFromString('--liftoff-only');

const [prefix, ...files] = process.argv.slice(2);
if (!prefix || files.length === 0) {
	console.error('usage: node ps1-parse.mjs NPM_PREFIX FILE...');
	process.exit(2);
}
const modules = join(resolve(prefix), 'node_modules');
let Parser, Language, lang;
try {
	const require = createRequire(join(modules, 'noop.js'));
	({ Parser, Language } = require('web-tree-sitter'));
	await Parser.init();
	const grammar = join(modules, 'tree-sitter-powershell', 'tree-sitter-powershell.wasm');
	lang = await Language.load(grammar);
} catch (err) {
	console.error(`ps1-parse: cannot load the PowerShell parser from '${modules}': ${err.message.split('\n')[0]}`);
	process.exit(2);
}

const parser = new Parser();
parser.setLanguage(lang);
let failed = 0;
for (const file of files) {
	const tree = parser.parse(readFileSync(file, 'utf8'));
	const bad = [];
	const stack = [tree.rootNode];
	while (stack.length) {
		const n = stack.pop();
		if (n.isError || n.isMissing) {
			const where = `${n.startPosition.row + 1}:${n.startPosition.column + 1}`;
			const text = n.text.split('\n')[0].slice(0, 60);
			bad.push(`${file}:${where}: ${n.isMissing ? 'missing ' + n.type : 'syntax error'} near '${text}'`);
		}
		for (let i = n.childCount - 1; i >= 0; i--)
			stack.push(n.child(i));
	}
	if (bad.length || tree.rootNode.hasError) {
		failed++;
		for (const line of bad)
			console.log(line);
		if (!bad.length)
			console.log(`${file}: the parser reports an error`);
	} else {
		console.log(`${file}: parses`);
	}
}
process.exit(failed ? 1 : 0);
